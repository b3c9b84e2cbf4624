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
}

/**
 * Archives every configured corp at once, each in its own loops, so a corp stopped by a
 * configuration error never holds up the others. RSA work for all corps shares one worker pool.
 */
export async function runArchive(app: App, log: Logger, signal: AbortSignal, options: RunOptions): Promise<CorpProgress[]> {
  const corpids = await app.corps.ids();
  if (corpids.length === 0)
    throw new ArchiveError('NO_CORPS', 'no corps configured: add one with `wecom-archive corp add` (or `corp import` a simulator config)', { kind: 'invalid' });
  const timing = { ...DEFAULT_TIMING, ...options.timing };
  // the database's outages and returns are logged once, by the store, in this run's log
  app.store.health.logTo(log);
  const rsa = new RsaPool();
  const backends: SdkBackend[] = [];
  const archivers = new Map<string, CorpArchiver>();
  const failed: CorpProgress[] = [];
  const { db, dialect } = app.store;
  const pullSlots = options.maxCorps ? new PullSlots(options.maxCorps) : undefined;
  // media downloads are off with --media-concurrency 0 (jobs are still recorded for a later run)
  const media = app.config.media.concurrency > 0 ? createMediaRuntime(app.config.media) : undefined;
  try {
    for (const corpid of corpids) {
      try {
        // the database going away as the run starts is no reason to leave a corp out of it
        const corp = await app.store.health.retryWhileUnavailable(() => app.corps.get(corpid), signal);
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
        archivers.set(corpid, new CorpArchiver({ db, dialect, health: app.store.health, backend, decrypt, media: mediaStage, log, now: Date.now, pullSlots }, corp, timing));
      } catch (err) {
        // One corp that cannot start (bad SDK setting, unreadable secret) does not stop the others.
        log.error({ corp: corpid, err: (err as Error).message }, 'corp cannot be archived');
        failed.push({ corpid, cursor: 0n, envelopes: 0, messages: 0, failures: 0, state: 'stopped', lastError: (err as Error).message, notStarted: true });
      }
    }
    options.onStarted?.(archivers);
    const all = () => [...[...archivers.values()].map((a) => a.progress), ...failed];
    const ticker = options.onProgress ? setInterval(() => options.onProgress!(all()), options.progressEveryMs ?? 2_000) : undefined;
    // the search index follows the stored messages beside the pulls, and stops with them
    const indexer = new IndexStage({ db, dialect, health: app.store.health, log }, options.indexTiming);
    const indexing = new AbortController();
    const stopIndexing = () => indexing.abort();
    signal.addEventListener('abort', stopIndexing, { once: true });
    const indexLoop = indexer.run(indexing.signal);
    try {
      await Promise.all([...archivers.values()].map((a) => a.run(signal, { once: options.once })));
    } finally {
      if (ticker) clearInterval(ticker);
      stopIndexing();
      signal.removeEventListener('abort', stopIndexing);
      await indexLoop;
    }
    // `run --once` leaves nothing it stored out of the index
    if (options.once) await indexer.finish(signal);
    options.onProgress?.(all());
    return all();
  } finally {
    await Promise.all(backends.map((b) => b.close().catch(() => undefined)));
    await rsa.close();
    await media?.close();
  }
}
