/**
 * The composition root of a running archive: from an opened App and a plan of what this process
 * runs, it builds the HTTP server, the callback endpoint with its inbox workers and directory stage,
 * and the pulls with their decrypt and media stages (archive-runner.ts), and connects them (a
 * msgaudit_notify wakes the pull). `run`, `serve`, `demo`, the benches and the tests all start their
 * processes here; stages never construct each other, and the CLI never constructs a stage.
 * A new stage is one more part of ProcessPlan and of startArchiveProcess.
 */
import { WecomSignIn } from '../access/wecom-sign-in.ts';
import type { AccessServices, ApiRoutes } from '../api/api-types.ts';
import { type HttpServer, startHttpServer } from '../api/http-server.ts';
import { type CorpProgress, DEFAULT_TIMING } from '../archiver/corp-archiver.ts';
import { callbackAppsReloader, configRevision, watchConfig } from './config-watch.ts';
import { DeliveryStage, type DeliveryTiming } from '../outbox/delivery-stage.ts';
import type { App } from './app.ts';
import { runArchive, type RunOptions } from './archive-runner.ts';
import { type CallbackServices, type CallbackServicesOptions, createCallbackServices } from './callback-services.ts';
import type { Logger } from './logger.ts';
import { createOpsEndpoints, type OpsEndpoints } from '../ops/ops-endpoints.ts';
import { AlertEvaluator } from '../ops/alerts/alert-evaluator.ts';
import { type AlertTarget, robotTarget, webhookTarget } from '../ops/alerts/alert-targets.ts';

/** What `run` reports of each corp (the CLI prints it; it does not import the archiver for it). */
export type { CorpProgress };
/** The archiver's default timing, which `run`'s options are checked against. */
export { DEFAULT_TIMING } from '../archiver/corp-archiver.ts';

/** What one process runs; each part is left out when absent. */
export interface ProcessPlan {
  /** the HTTP server (health, status, sessions, and with `callbacks` the WeCom callback endpoint) */
  readonly listen?: { readonly host: string; readonly port: number };
  /**
   * The accounts store the HTTP edge signs callers in against, and the audit log of sign-ins
   * (src/access/caller.ts); by default the app's own (src/access/), which `users add` fills. Tests
   * may pass another.
   */
  readonly access?: AccessServices;
  /** more route groups for the HTTP server (the read routes), each declaring its access and schemas */
  readonly routes?: readonly ApiRoutes[];
  /** the callback endpoint, its inbox workers and the directory stage */
  readonly callbacks?: CallbackServicesOptions;
  /** the pulls with their decrypt and media stages: the process's run ends when they end */
  readonly archive?: RunOptions;
  /** with `archive`: the event delivery stage's timing (tests use short waits) */
  readonly events?: Partial<DeliveryTiming>;
}

/** What a plan starts: the server and the callback services are there when the plan asks for them. */
export interface ArchiveProcess<P extends ProcessPlan = ProcessPlan> {
  readonly server: P extends { listen: object } ? HttpServer : HttpServer | undefined;
  readonly services: P extends { callbacks: object } ? CallbackServices : CallbackServices | undefined;
  /** /metrics and /readyz behind the server; the event stream registers its metrics source here (ops.metrics.registerEventStream) */
  readonly ops: OpsEndpoints;
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
  const ops = createOpsEndpoints(app.store, app.config.ops, log);
  // the event stream's backlog, head failures and dead letters, per sink
  ops.metrics.registerEventStream({
    eventStreamStats: async () =>
      (await app.sinks.list()).map((s) => ({ corpid: s.corpid, sink: String(s.id), backlog: s.backlog, failures: s.failures, deadLetters: s.deadLetters })),
  });
  let server: HttpServer | undefined;
  try {
    server = plan.listen
      ? await startHttpServer(app, plan.listen.port, log, plan.listen.host, {
          ops,
          callbacks: services?.route,
          access: plan.access ?? { authenticator: app.access.accounts, audit: app.access.audit },
          // the code exchange shares the directory's token cache and connections when they are here
          ...(services ? { wecomSignIn: new WecomSignIn(app.loginApps, (corpid, secret) => services.clients.loginClient(corpid, secret)) } : {}),
          routes: plan.routes ?? [],
        })
      : undefined;
  } catch (err) {
    services?.close();
    throw err;
  }
  const started: ArchiveProcess = {
    server,
    services,
    ops,
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
  // alerts watch what the archive does: they run beside the pulls, when a target is configured
  const alerts = plan.archive ? alertEvaluator(app, log)?.run(background.signal) : undefined;
  // the event stream out follows the outbox beside the pulls, and stops with them
  const delivery = plan.archive
    ? new DeliveryStage({ db: app.store.db, dialect: app.store.dialect, health: app.store.health, log, secretOf: (sink) => app.sinks.secretOf(sink), now: Date.now }, plan.events)
    : undefined;
  const delivering = delivery?.run(background.signal);
  // callback apps changed in another process reach this one's endpoint at the next poll
  const reloadCallbackApps = services ? callbackAppsReloader(app, log) : undefined;
  try {
    if (!plan.archive) {
      // `serve`: the callback apps are the configuration it follows
      const watching = reloadCallbackApps ? followCallbackApps(app, log, background.signal, reloadCallbackApps) : undefined;
      await running;
      await watching;
      return [];
    }
    const { onStarted } = plan.archive;
    const progress = await runArchive(app, log, signal, {
      ...plan.archive,
      ...(reloadCallbackApps ? { onConfigChange: reloadCallbackApps } : {}),
      onStarted: (archivers) => {
        // msgaudit_notify wakes the corp's pull through its bell
        services?.waker.attach(archivers);
        onStarted?.(archivers);
      },
    });
    // `run --once` delivers what it archived before it exits
    if (plan.archive.once && delivery) {
      background.abort();
      await delivering;
      await delivery.finish(signal);
    }
    return progress;
  } finally {
    background.abort();
    signal.removeEventListener('abort', stop);
    await running;
    await alerts;
    await delivering;
    await delivery?.close();
  }
}

/** Without pulls (`serve`): reloads the callback apps whenever the configuration's revision moves. */
async function followCallbackApps(app: App, log: Logger, signal: AbortSignal, reload: () => Promise<void>): Promise<void> {
  const since = await app.store.health.retryWhileUnavailable(() => configRevision(app), signal).catch(() => undefined);
  if (since === undefined) return;
  await reload().catch(() => undefined);
  await watchConfig(app, log, signal, { intervalMs: DEFAULT_TIMING.pollIntervalMs, since, apply: reload });
}

/** The alert stage from the settings (ops.alerts); undefined when no target is configured. */
function alertEvaluator(app: App, log: Logger): AlertEvaluator | undefined {
  const a = app.config.ops.alerts;
  const targets: AlertTarget[] = [];
  if (a.robotUrl !== undefined) targets.push(robotTarget(a.robotUrl));
  if (a.webhookUrl !== undefined) targets.push(webhookTarget(a.webhookUrl));
  if (targets.length === 0) return undefined;
  return new AlertEvaluator(app.store.db, app.store.dialect, log, {
    hoursLeft: a.hoursLeft,
    mediaFailures: a.mediaFailures,
    waitingEnvelopes: a.waitingEnvelopes,
    sdkRestarts: a.sdkRestarts,
    maxPerHour: a.maxPerHour,
    targets,
    intervalMs: a.intervalS * 1000,
    throttleMs: a.throttleMinutes * 60_000,
  });
}
