/**
 * The callback endpoint, its inbox workers and the directory stage, wired together. Part of the
 * composition root: startArchiveProcess (archive-process.ts) puts them in `serve`, `run` and `demo`;
 * stages are only wired in src/app/, never import each other.
 */
import type { App } from './app.ts';
import type { Logger } from './logger.ts';
import type { InboxKind } from '../callbacks/callback-events.ts';
import { CallbackInbox } from '../callbacks/callback-inbox.ts';
import { type CallbackRoute, createCallbackRoute } from '../callbacks/callback-http.ts';
import { CallbackSourceGuard } from '../callbacks/callback-source-guard.ts';
import { handleInboxEvent } from '../callbacks/event-handlers.ts';
import { InboxWorker, type InboxWorkerOptions } from '../callbacks/inbox-worker.ts';
import { PullWaker } from '../callbacks/pull-waker.ts';
import { DEFAULT_DIRECTORY_TIMING, DirectoryRunner, type DirectoryTiming } from '../directory/directory-runner.ts';
import { DirectoryStore } from '../directory/directory-store.ts';
import { DEFAULT_QUEUE_POLICY, DirectorySync, type QueuePolicy } from '../directory/directory-sync.ts';
import { scopedSignal } from '../runtime/abort.ts';
import { ApiClients } from '../wecom-api/api-clients.ts';
import type { ApiRetryPolicy } from '../wecom-api/api-retry-policy.ts';

export interface CallbackServicesOptions {
  /**
   * Whether this process handles msgaudit_notify: only one that runs the pulls can wake them, so
   * `serve` alone leaves those events to a `run` process sharing the database.
   */
  handlePullNotifies: boolean;
  /** false: no directory stage in this process */
  directory?: boolean;
  directoryTiming?: Partial<DirectoryTiming>;
  queuePolicy?: QueuePolicy;
  apiPolicy?: ApiRetryPolicy;
  inbox?: InboxWorkerOptions;
  /** debounce of msgaudit_notify wakes */
  wakeDebounceMs?: number;
  now?: () => number;
}

export interface CallbackServices {
  /** mount on the HTTP server: startHttpServer(…, { callbacks: route }) */
  readonly route: CallbackRoute;
  readonly waker: PullWaker;
  readonly inbox: CallbackInbox;
  readonly worker: InboxWorker;
  readonly directory: DirectoryRunner;
  readonly directoryStore: DirectoryStore;
  readonly clients: ApiClients;
  /** Runs the inbox worker and the directory stage until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
  close(): void;
}

export function createCallbackServices(app: App, log: Logger, options: CallbackServicesOptions): CallbackServices {
  const now = options.now ?? Date.now;
  const { db, dialect } = app.store;
  const settings = app.config.callbacks;
  // the database's outages and returns are logged once, by the store, in this process's log
  app.store.health.logTo(log);
  const inbox = new CallbackInbox(db, now);
  const directoryStore = new DirectoryStore(db, dialect, now);
  const clients = new ApiClients(app.apiSettings, { ...(options.apiPolicy ? { policy: options.apiPolicy } : {}), now });
  const sync = new DirectorySync({ store: directoryStore, log, now }, options.queuePolicy ?? DEFAULT_QUEUE_POLICY);
  const directory = new DirectoryRunner(
    {
      sync,
      client: (corpid) => clients.client(corpid),
      corpIds: () => app.corps.ids(),
      retryGaveUp: (corpid) => directoryStore.retryGaveUp(corpid),
      health: app.store.health,
      log,
      now,
    },
    { ...DEFAULT_DIRECTORY_TIMING, fullSyncIntervalMs: settings.directorySyncIntervalS * 1000, ...options.directoryTiming },
  );
  const waker = new PullWaker(options.wakeDebounceMs ?? 1_000, now);
  const kinds: InboxKind[] | undefined = options.handlePullNotifies ? undefined : ['change_contact', 'change_external_contact', 'change_external_chat'];
  const worker = new InboxWorker(
    {
      inbox,
      health: app.store.health,
      log,
      now,
      handle: (row, signal) =>
        handleInboxEvent(
          {
            directory: directoryStore,
            wakePull: (corpid) => waker.wake(corpid),
            wakeDirectory: (corpid) => directory.wake(corpid),
            completeEarlierNotifies: (corpid, upToId) => inbox.completeEarlierNotifies(corpid, upToId),
          },
          row,
          signal,
        ),
    },
    { ...options.inbox, ...(kinds ? { kinds } : {}) },
  );
  const guard = new CallbackSourceGuard(() => directoryStore.callbackIps(), { enforce: settings.ipCheck === 'enforce', trustedProxies: settings.trustedProxies }, now);
  const route = createCallbackRoute(
    {
      apps: app.callbackApps,
      inbox,
      guard,
      maxAgeS: settings.maxAgeS,
      log,
      now,
      onStored: () => worker.bell.ring(),
    },
    settings.trustedProxies,
  );

  return {
    route,
    waker,
    inbox,
    worker,
    directory,
    directoryStore,
    clients,
    async run(signal) {
      // One listener on the caller's signal; the many concurrent waits hang off this one.
      const local = scopedSignal(signal, 1_000);
      try {
        await Promise.all([worker.run(local.signal), options.directory === false ? Promise.resolve() : directory.run(local.signal)]);
      } finally {
        local.release();
      }
    },
    close() {
      waker.close();
      clients.close();
    },
  };
}
