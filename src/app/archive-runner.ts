import type { App } from './app.ts';
import type { Logger } from './logger.ts';
import type { CorpConfig } from '../corps/corp-registry.ts';
import { DecryptStage } from '../decrypt/decrypt-stage.ts';
import { RsaPool } from '../decrypt/rsa-pool.ts';
import { ArchiveError } from '../errors/errors.ts';
import { createMediaRuntime } from '../media/media-runtime.ts';
import type { MediaPolicy } from '../media/media-policy.ts';
import { MediaStage } from '../media/media-stage.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import { createBackend } from '../sdk/create-backend.ts';
import { IndexStage, type IndexStageTiming } from '../search/index-stage.ts';
import { recordHostRestarts } from '../sdk/native/host-restart-log.ts';
import { type ArchiverTiming, CorpArchiver, type CorpProgress, DEFAULT_TIMING } from '../archiver/corp-archiver.ts';
import { PullSlots } from '../pull/pull-slots.ts';
import { type BuiltArchiver, CorpFleet } from './corp-fleet.ts';
import { configRevision, watchConfig } from './config-watch.ts';

export interface RunOptions {
  once: boolean;
  timing?: Partial<ArchiverTiming>;
  /** called every `progressEveryMs` and once at the end */
  onProgress?(progress: readonly CorpProgress[]): void;
  progressEveryMs?: number;
  /** called once every corp's archiver is up (e.g. to route msgaudit_notify to `wake`) */
  onStarted?(archivers: ReadonlyMap<string, CorpArchiver>): void;
  /** how a corp's SDK backend is made (tests put a decorator around the real one) */
  createBackend?(corp: CorpConfig): SdkBackend;
  /** media retry policy overrides (tests use short waits) */
  mediaPolicy?: Partial<MediaPolicy>;
  /** search index stage timing overrides */
  indexTiming?: Partial<IndexStageTiming>;
  /** `run --max-corps`: pull at most this many corps at once, leaving the others to other processes */
  maxCorps?: number;
  /**
   * Without `once`: called once as the run starts (after it read the configuration's revision), and
   * again after each change of configuration was applied to the corps (the callback apps reload).
   */
  onConfigChange?(): Promise<void>;
}

/**
 * Archives every configured corp at once, each in its own loops, so a corp stopped by a
 * configuration error never holds up the others. RSA work for all corps shares one worker pool.
 * Without `once`, corps added, changed or removed while it runs (and their keys) take effect within
 * one poll interval (corp-fleet.ts).
 */
export async function runArchive(app: App, log: Logger, signal: AbortSignal, options: RunOptions): Promise<CorpProgress[]> {
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  // the database going away as the run starts is no reason to stop it
  const since = await app.store.health.retryWhileUnavailable(() => configRevision(app), signal);
  // what the hook reads now is as new as `since`, at least: a change after it is applied again
  if (!options.once) await options.onConfigChange?.().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'configuration could not be read'));
  // the database's outages and returns are logged once, by the store, in this run's log
  app.store.health.logTo(log);
  const rsa = new RsaPool();
  const { db, dialect } = app.store;
  const pullSlots = options.maxCorps ? new PullSlots(options.maxCorps) : undefined;
  // media downloads are off with --media-concurrency 0 (jobs are still recorded for a later run)
  const media = app.config.media.concurrency > 0 ? createMediaRuntime(app.config.media) : undefined;
  const fleet = new CorpFleet(app, log, signal, {
    once: options.once,
    build: (corp) => {
      const backends: SdkBackend[] = [];
      try {
        return buildArchiver(corp, backends);
      } catch (err) {
        for (const b of backends) void b.close().catch(() => undefined);
        throw err;
      }
    },
  });

  function buildArchiver(corp: CorpConfig, backends: SdkBackend[]): BuiltArchiver {
    const corpid = corp.corpid;
    const backend = options.createBackend
      ? options.createBackend(corp)
      : createBackend(corp, { log, onHostRestart: recordHostRestarts(db, (err) => log.error({ corp: corpid, err }, 'could not record an SDK host restart')) });
    backends.push(backend);
    const decrypt = new DecryptStage({ db, dialect, backend, rsa, now: Date.now, log, loadKeys: (id) => app.keys.privateKeys(id) }, { backoff: timing.decryptBackoff });
    let mediaStage: MediaStage | undefined;
    if (media) {
      // the simulator backend shares one connection pool per instance: media gets its own, so
      // downloads never queue a pull (the native backend has a media lane of its own already)
      const mediaBackend = corp.sdk.kind === 'simulator' ? (options.createBackend ?? createBackend)(corp) : backend;
      if (mediaBackend !== backend) backends.push(mediaBackend);
      mediaStage = new MediaStage(
        { db, dialect, backend: mediaBackend, store: media.store, voice: media.voice, limiter: media.limiter, partialDir: media.partialDir, log, now: Date.now },
        { corpid, proxy: corp.proxy, proxyAuth: corp.proxyAuth, timeoutS: corp.timeoutS },
        { corpConcurrency: app.config.media.corpConcurrency, ...(options.mediaPolicy ? { policy: options.mediaPolicy } : {}) },
      );
    }
    const archiver = new CorpArchiver({ db, dialect, health: app.store.health, backend, decrypt, media: mediaStage, log, now: Date.now, pullSlots }, corp, timing);
    return { archiver, backends };
  }

  try {
    const configured = await fleet.startAll();
    if (configured === 0)
      throw new ArchiveError('NO_CORPS', 'no corps configured: add one with `wecom-archive corp add` (or `corp import` a simulator config)', { kind: 'invalid' });
    options.onStarted?.(fleet.archivers);
    const ticker = options.onProgress ? setInterval(() => options.onProgress!(fleet.progress()), options.progressEveryMs ?? 2_000) : undefined;
    // the search index follows the stored messages beside the pulls, and stops with them; with
    // --search-index off the messages stay queued for it (a later run, or reindex, indexes them)
    const indexer = app.config.searchIndex ? new IndexStage({ db, dialect, health: app.store.health, log }, options.indexTiming) : undefined;
    const indexing = new AbortController();
    const stopIndexing = () => indexing.abort();
    signal.addEventListener('abort', stopIndexing, { once: true });
    const indexLoop = indexer?.run(indexing.signal);
    try {
      if (options.once) await fleet.settled();
      else {
        // the configuration is followed until the run stops; the archivers stop with it
        await watchConfig(app, log, signal, {
          intervalMs: timing.pollIntervalMs,
          since,
          apply: async () => {
            await fleet.reconcile();
            await options.onConfigChange?.();
          },
        });
        await fleet.settled();
      }
    } finally {
      if (ticker) clearInterval(ticker);
      stopIndexing();
      signal.removeEventListener('abort', stopIndexing);
      await indexLoop;
    }
    // `run --once` leaves nothing it stored out of the index
    if (options.once) await indexer?.finish(signal);
    const progress = fleet.progress();
    options.onProgress?.(progress);
    return progress;
  } finally {
    await fleet.close();
    await rsa.close();
    await media?.close();
  }
}
