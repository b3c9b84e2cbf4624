/**
 * The composition root of a running archive: from an opened App and a plan of what this process
 * runs, it builds the HTTP server, the callback endpoint with its inbox workers and directory stage,
 * and the pulls with their decrypt and media stages (archive-runner.ts), and connects them (a
 * msgaudit_notify wakes the pull). `run`, `serve`, `demo`, the benches and the tests all start their
 * processes here; stages never construct each other, and the CLI never constructs a stage.
 * A new stage is one more part of ProcessPlan and of startArchiveProcess.
 */
import type { AccessServices, ApiRoutes } from '../api/api-types.ts';
import { type HttpServer, startHttpServer } from '../api/http-server.ts';
import type { CorpProgress } from '../archiver/corp-archiver.ts';
import type { App } from './app.ts';
import { runArchive, type RunOptions } from './archive-runner.ts';
import { type CallbackServices, type CallbackServicesOptions, createCallbackServices } from './callback-services.ts';
import type { Logger } from './logger.ts';

/** What `run` reports of each corp (the CLI prints it; it does not import the archiver for it). */
export type { CorpProgress };

/** What one process runs; each part is left out when absent. */
export interface ProcessPlan {
  /** the HTTP server (health, status, sessions, and with `callbacks` the WeCom callback endpoint) */
  readonly listen?: { readonly host: string; readonly port: number };
  /**
   * The accounts store the HTTP edge signs callers in against, and the audit log of sign-ins
   * (src/access/caller.ts). Without it the server runs, but no one can sign in: routes that need a
   * caller answer 401 and `POST /api/session` answers 503 ACCOUNTS_UNAVAILABLE.
   */
  readonly access?: AccessServices;
  /** more route groups for the HTTP server (the read routes), each declaring its access and schemas */
  readonly routes?: readonly ApiRoutes[];
  /** the callback endpoint, its inbox workers and the directory stage */
  readonly callbacks?: CallbackServicesOptions;
  /** the pulls with their decrypt and media stages: the process's run ends when they end */
  readonly archive?: RunOptions;
}

/** What a plan starts: the server and the callback services are there when the plan asks for them. */
export interface ArchiveProcess<P extends ProcessPlan = ProcessPlan> {
  readonly server: P extends { listen: object } ? HttpServer : HttpServer | undefined;
  readonly services: P extends { callbacks: object } ? CallbackServices : CallbackServices | undefined;
  /**
   * Runs the plan's stages until `signal` aborts, or, with `archive`, until the archive run ends (the
   * background stages stop with it). Returns the archive's progress per corp (none without `archive`).
   */
  run(signal: AbortSignal): Promise<CorpProgress[]>;
  /** Closes the callback services' clients and the HTTP server; call after `run` has returned. */
  close(): Promise<void>;
}

/** Builds and starts (the HTTP server listens at once) what `plan` asks for, on `app`. */
export async function startArchiveProcess<P extends ProcessPlan>(app: App, log: Logger, plan: P): Promise<ArchiveProcess<P>> {
  const services = plan.callbacks ? createCallbackServices(app, log, plan.callbacks) : undefined;
  let server: HttpServer | undefined;
  try {
    server = plan.listen
      ? await startHttpServer(app, plan.listen.port, log, plan.listen.host, { callbacks: services?.route, access: plan.access, routes: plan.routes ?? [] })
      : undefined;
  } catch (err) {
    services?.close();
    throw err;
  }
  const started: ArchiveProcess = {
    server,
    services,
    run: (signal) => runPlan(app, log, plan, services, signal),
    async close() {
      services?.close();
      await server?.close();
    },
  };
  // the plan's parts decide which of server and services are there (checked above, by construction)
  return started as ArchiveProcess<P>;
}

async function runPlan(app: App, log: Logger, plan: ProcessPlan, services: CallbackServices | undefined, signal: AbortSignal): Promise<CorpProgress[]> {
  // the background stages stop with the caller's signal, or when the archive run ends
  const background = new AbortController();
  const stop = () => background.abort();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  const running = services?.run(background.signal);
  try {
    if (!plan.archive) {
      await running;
      return [];
    }
    const { onStarted } = plan.archive;
    return await runArchive(app, log, signal, {
      ...plan.archive,
      onStarted: (archivers) => {
        // msgaudit_notify wakes the corp's pull through its bell
        services?.waker.attach(archivers);
        onStarted?.(archivers);
      },
    });
  } finally {
    background.abort();
    signal.removeEventListener('abort', stop);
    await running;
  }
}
