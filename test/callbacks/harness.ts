/**
 * An archive with its HTTP server, callback endpoint, inbox workers and directory stage running, on
 * a test database, with short timings; and helpers to send WeCom-style requests to it.
 */
import { request } from 'node:http';
import { createApp, type App } from '../../src/app/app.ts';
import { createLogger } from '../../src/app/logger.ts';
import type { HttpServer } from '../../src/api/http-server.ts';
import { startArchiveProcess } from '../../src/app/archive-process.ts';
import type { RunOptions } from '../../src/app/archive-runner.ts';
import type { CallbackServices, CallbackServicesOptions } from '../../src/app/callback-services.ts';
import { loadConfig } from '../../src/config/config.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { ApiRetryPolicy } from '../../src/wecom-api/api-retry-policy.ts';
import { exponentialBackoff } from '../../src/runtime/backoff.ts';

/** The real policy's shape with millisecond delays. */
export const FAST_API_POLICY: ApiRetryPolicy = {
  tokenCodes: new Set([40014, 42001]),
  backoff: { [-1]: { retries: 3, baseMs: 5, maxMs: 20 }, 45009: { retries: 3, baseMs: 5, maxMs: 20 }, 45033: { retries: 3, baseMs: 5, maxMs: 20 } },
  network: { retries: 2, baseMs: 5, maxMs: 20 },
};

export function appWithEnv(store: Store, env: Record<string, string> = {}): App {
  // Media downloads are another stage's business (and the slow part of an archive run): off here.
  return createApp(loadConfig({}, { WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0', ...env }, '/tmp'), store, Buffer.alloc(32, 3));
}

export interface RunningArchive {
  app: App;
  services: CallbackServices;
  server: HttpServer;
  /** http://127.0.0.1:PORT */
  base: string;
  stop(): Promise<void>;
}

/** Starts the callback endpoint, workers and directory stage on `app`; the pulls too when `archive` is given. */
export async function startCallbackArchive(app: App, options: Partial<CallbackServicesOptions> = {}, archive?: RunOptions): Promise<RunningArchive> {
  const running = await startArchiveProcess(app, createLogger('silent'), {
    listen: { host: '127.0.0.1', port: 0 },
    callbacks: {
      handlePullNotifies: true,
      apiPolicy: FAST_API_POLICY,
      queuePolicy: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100, missingSecretDelayMs: 60_000 },
      directoryTiming: { scanIntervalMs: 100 },
      inbox: { pollMs: 50, backoff: exponentialBackoff(10, 40) },
      wakeDebounceMs: 50,
      ...options,
    },
    ...(archive ? { archive } : {}),
  });
  const stopper = new AbortController();
  const run = running.run(stopper.signal);
  const server = running.server;
  return {
    app,
    services: running.services,
    server,
    base: `http://127.0.0.1:${server.port}`,
    async stop() {
      stopper.abort();
      await run;
      await running.close();
    },
  };
}

/** Registers the simulator's corp with its keys, API secrets and the three callback configurations. */
export async function addSimulatorCorpWithCallbacks(app: App, sim: RunningSimulator, options: { secrets?: boolean } = {}): Promise<void> {
  await registerCorps(app, [simulatorCorp(sim, { apiSecrets: options.secrets !== false })]);
}

/** A raw HTTP request (the path and query sent exactly as given: no re-encoding). */
export function rawRequest(
  base: string,
  method: string,
  pathAndQuery: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; ms: number }> {
  const url = new URL(base);
  const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method, path: pathAndQuery, headers: { ...(payload ? { 'content-length': String(payload.length) } : {}), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
