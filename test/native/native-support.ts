import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { App } from '../../src/app/app.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import { MEDIA_CHUNK_MAX, type SdkBackend } from '../../src/sdk/backend.ts';
import type { HostRestartEvent } from '../../src/sdk/native/host-pool.ts';
import { createNativeBackend, type NativeBackend, type NativeBackendOptions } from '../../src/sdk/native/native-backend.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { parseMessage } from '../support/chat-data.ts';

/** The environment of an SDK host running the double against `sim`, with the double's fault settings. */
export function doubleEnv(sim: RunningSimulator, faults: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WECOM_DOUBLE_')) env[k] = v;
  return { ...env, WECOM_DOUBLE_URL: sim.url, ...faults };
}

export interface NativeCorpOptions {
  /** the corp secret to register (default: the simulator's) */
  secret?: string;
  proxy?: string | null;
  /** only these key versions (default: all of the simulator's) */
  keyVersions?: readonly number[];
  limit?: number;
  timeoutS?: number;
  /** replace the corp if it is registered already */
  replace?: boolean;
}

/** Registers the simulator's corp with the native SDK at `libPath` (the double) and its keys, as one registration. */
export async function addNativeCorp(app: App, sim: RunningSimulator, libPath: string, options: NativeCorpOptions = {}): Promise<void> {
  const parts = simulatorCorp(sim, {
    ...(options.keyVersions ? { keyVersions: options.keyVersions } : {}),
    limit: options.limit ?? 1000,
    timeoutS: options.timeoutS ?? 10,
    apiSecrets: false,
    callbackApps: false,
  });
  const corp = { ...parts.corp, secret: options.secret ?? sim.corp.secret, sdk: { kind: 'native' as const, path: libPath }, proxy: options.proxy ?? null };
  await registerCorps(app, [{ ...parts, corp }], { replace: options.replace === true });
}

/**
 * Runs `fn` with the double's settings in this process's environment: the archive starts its SDK
 * hosts as the CLI does (createBackend), and they inherit it.
 */
export async function withDoubleEnv<T>(sim: RunningSimulator, faults: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, doubleEnv(sim, faults));
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** A native backend over the double serving `sim`; restarts are collected in `events`. */
export function doubleBackend(
  libPath: string,
  sim: RunningSimulator,
  faults: Record<string, string> = {},
  options: Partial<NativeBackendOptions> = {},
): NativeBackend & { events: HostRestartEvent[] } {
  const events: HostRestartEvent[] = [];
  const backend = createNativeBackend({
    libPath,
    corpid: sim.corp.corpid,
    secret: sim.corp.secret,
    env: doubleEnv(sim, faults),
    onRestart: (e) => events.push(e),
    ...options,
  });
  return Object.assign(backend, { events });
}

/** A fresh file path in a temporary directory (for WECOM_DOUBLE_COUNTER / WECOM_DOUBLE_STATS). */
export function tempFile(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'wa-native-')), name);
}

export interface DoubleStats {
  pid: number;
  calls: number;
  slices_live: number;
  media_live: number;
  inits: number;
  destroys: number;
}

/** The lines the double wrote at each DestroySdk. */
export function readStats(file: string): DoubleStats[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DoubleStats);
}

export interface MediaRef {
  sdkfileid: string;
  md5sum: string;
}

/** Media of the simulator's first `count` messages that carry an md5. */
export function mediaOf(sim: RunningSimulator, count: number): MediaRef[] {
  return Array.from({ length: count }, (_, i) => parseMessage(sim.plaintextOf(i)))
    .map((d) => (d.file ?? d.video ?? d.voice ?? d.image) as { sdkfileid?: string; md5sum?: string } | undefined)
    .filter((b): b is MediaRef => typeof b?.sdkfileid === 'string' && typeof b.md5sum === 'string' && b.md5sum !== '');
}

/** Downloads a whole file chunk by chunk, as a media stage does; returns the bytes and the call count. */
export async function download(backend: SdkBackend, sdkFileId: string): Promise<{ bytes: Buffer; calls: number }> {
  const chunks: Buffer[] = [];
  let indexBuf = '';
  for (let calls = 1; ; calls++) {
    const chunk = await backend.getMediaData({ indexBuf, sdkFileId, proxy: '', passwd: '', timeoutS: 5 });
    expect(chunk.data.length).toBeLessThanOrEqual(MEDIA_CHUNK_MAX);
    chunks.push(chunk.data);
    if (chunk.isFinish) return { bytes: Buffer.concat(chunks), calls };
    indexBuf = chunk.outIndex;
  }
}
