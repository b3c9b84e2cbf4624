import type { Kysely } from 'kysely';
import type { Logger } from '../app/logger.ts';
import type { CorpConfig } from '../corps/corp-registry.ts';
import type { DecryptStage } from '../decrypt/decrypt-stage.ts';
import { type RetryBackoff, TRANSIENT_BACKOFF } from '../decrypt/wait-reasons.ts';
import type { MediaStage } from '../media/media-stage.ts';
import { PullLoop } from '../pull/pull-loop.ts';
import type { PullSlots } from '../pull/pull-slots.ts';
import type { PullState } from '../pull/retry-policy.ts';
import { type Backoff, exponentialBackoff } from '../runtime/backoff.ts';
import { Bell, sleep } from '../runtime/sleep.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import { type DatabaseHealth, isDatabaseUnavailable } from '../store/database-health.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { newLeaseOwner } from '../store/lease-owner.ts';
import type { Database } from '../store/schema.ts';

export interface ArchiverTiming {
  /** pause between pulls once caught up (a msgaudit_notify rings the bell earlier) */
  pollIntervalMs: number;
  /** at most 600 GetChatData calls a minute per corp */
  minCallIntervalMs: number;
  backoff: Backoff;
  /** a stopped corp (configuration error) is tried again after this long */
  stoppedRetryMs: number;
  /** how often envelopes waiting for a key are looked at again (a key added by another process) */
  requeueIntervalMs: number;
  /** when envelopes that failed for a transient reason are tried again (stored with each, never given up) */
  decryptBackoff: RetryBackoff;
  /**
   * `run --once`: how long it keeps waiting for the next try of envelopes that failed for a transient
   * reason, from the first such wait; then it ends and leaves them waiting (stored, tried by a later run)
   */
  onceRetryMs: number;
  /** `run --once`: consecutive transient failures before giving up on this run */
  onceMaxFailures: number;
  /** how often the media loop looks for jobs whose retry time has come (new messages ring it earlier) */
  mediaPollIntervalMs: number;
  /**
   * how long the pull lease lasts past each page (plus the corp's GetChatData timeout): a process
   * that dies holding it keeps other hosts' processes from pulling the corp this long
   */
  pullLeaseMs: number;
}

export const DEFAULT_TIMING: ArchiverTiming = {
  pollIntervalMs: 10_000,
  minCallIntervalMs: 100,
  backoff: exponentialBackoff(1_000, 60_000),
  stoppedRetryMs: 10 * 60_000,
  requeueIntervalMs: 30_000,
  decryptBackoff: TRANSIENT_BACKOFF,
  onceRetryMs: 60_000,
  onceMaxFailures: 8,
  mediaPollIntervalMs: 30_000,
  pullLeaseMs: 60_000,
};

export interface CorpProgress {
  corpid: string;
  cursor: bigint;
  envelopes: number;
  messages: number;
  failures: number;
  state: PullState;
  lastError: string | null;
  /** media files that reached a final state in this run, and their bytes */
  media?: { files: number; bytes: number; failed: number };
  /** another process holds the corp's pull lease (`host/pid/random`): this one does not pull */
  pullHeldBy?: string;
  /** the corp could not be started (its settings or secrets cannot be read, see lastError): no cursor of its own */
  notStarted?: boolean;
}

export interface CorpArchiverDeps {
  db: Kysely<Database>;
  dialect: StoreDialect;
  /** the store's view of the database: while it is away the loops wait for it (database-health.ts) */
  health: DatabaseHealth;
  backend: SdkBackend;
  decrypt: DecryptStage;
  /** absent: media are not downloaded by this process (jobs are still recorded) */
  media?: MediaStage | undefined;
  log: Logger;
  now(): number;
  /** the process's limit on corps it pulls at once, shared by its archivers; absent: none */
  pullSlots?: PullSlots | undefined;
}

/**
 * Archives one corp: a pull loop that stores envelopes and moves the cursor, and a decrypt loop
 * that turns them into messages. The two only meet through the envelopes table (stages
 * hand work on by rows, never by calling each other); the bell only saves the decrypt loop a wait.
 */
export class CorpArchiver {
  /** ring to pull now (msgaudit_notify) */
  readonly pullBell = new Bell();
  private readonly decryptBell = new Bell();
  private readonly mediaBell = new Bell();
  readonly progress: CorpProgress;
  private readonly pull: PullLoop;
  /** set by keysChanged: the decrypt loop looks at the waiting envelopes again before its next drain */
  private requeueWanted = false;
  /** settles once the pull loop has its first answer about the lease (or ended): the decrypt loop waits for it */
  private readonly leaseAsked: Promise<void>;
  private leaseAnswered: () => void = () => undefined;
  /** the pull loop stopped pulling (with `once`: caught up); it may still hold the lease */
  private pullFinished = false;

  constructor(
    private readonly deps: CorpArchiverDeps,
    private readonly corp: CorpConfig,
    private readonly timing: ArchiverTiming = DEFAULT_TIMING,
  ) {
    this.progress = { corpid: corp.corpid, cursor: 0n, envelopes: 0, messages: 0, failures: 0, state: 'ok', lastError: null };
    this.leaseAsked = new Promise((resolve) => {
      this.leaseAnswered = resolve;
    });
    this.pull = new PullLoop(
      deps,
      corp,
      timing,
      this.progress,
      this.pullBell,
      {
        workForDecrypt: () => this.decryptBell.ring(),
        leaseAnswered: () => this.leaseAnswered(),
        pullEnded: () => {
          this.pullFinished = true;
          this.decryptBell.ring();
        },
      },
      newLeaseOwner(),
    );
  }

  /**
   * A key of the corp was added or replaced (in this process or another): envelopes waiting for it
   * are queued again and tried now, not after the requeue interval.
   */
  keysChanged(): void {
    this.requeueWanted = true;
    this.decryptBell.ring();
  }

  /** Runs until aborted, or with `once` until caught up and everything pulled is decrypted. */
  async run(signal: AbortSignal, options: { once: boolean }): Promise<CorpProgress> {
    this.pullFinished = false;
    let decryptFinished = false;
    const decrypting = this.decryptLoop(signal, options.once, () => this.pullFinished).finally(() => {
      decryptFinished = true;
      this.mediaBell.ring();
    });
    // `once`: the pull lease is kept until this process has decrypted what it pulled (pull-loop.ts)
    const pulling = this.pull.run(signal, options.once, options.once ? decrypting : undefined);
    // media has its own loop and its own bounds: a long download never holds up a pull
    const downloading = this.mediaLoop(signal, options.once, () => decryptFinished);
    await Promise.all([pulling, decrypting, downloading]);
    return this.progress;
  }

  private async decryptLoop(signal: AbortSignal, once: boolean, pullFinished: () => boolean): Promise<void> {
    const { log, now, decrypt } = this.deps;
    const corp = this.corp.corpid;
    let lastRequeue = -Infinity;
    let failures = 0;
    // the earliest automatic retry of a waiting envelope (stored with it, so it holds across restarts)
    let nextAttemptAt: number | null = null;
    // `run --once` waits for retries until this time, set at its first such wait
    let retryDeadline: number | undefined;
    await this.leaseAsked;
    while (!signal.aborted) {
      const finishedBefore = pullFinished();
      // the process that pulls the corp decrypts what it stores; another one would only repeat that work
      if (this.progress.pullHeldBy !== undefined) {
        if (once) break;
        await sleep(this.timing.pollIntervalMs, signal, this.decryptBell);
        continue;
      }
      try {
        if (this.requeueWanted || now() - lastRequeue >= this.timing.requeueIntervalMs || (nextAttemptAt !== null && nextAttemptAt <= now())) {
          this.requeueWanted = false;
          const requeued = await decrypt.requeue(corp);
          if (requeued) log.info({ corp, stage: 'decrypt', requeued }, 'waiting envelopes queued again');
          lastRequeue = now();
        }
        const result = await decrypt.drain(corp, signal, (batch) => {
          this.progress.messages += batch.messages;
          this.progress.failures += batch.failures - batch.retryable;
          if (batch.messages) this.mediaBell.ring();
        });
        failures = 0;
        if (result.messages + result.failures > 0) continue;
        nextAttemptAt = await decrypt.nextAttemptAt(corp);
        let waitMs = once ? 1_000 : this.timing.requeueIntervalMs;
        if (once && finishedBefore) {
          if (nextAttemptAt === null) break;
          retryDeadline ??= now() + this.timing.onceRetryMs;
          // what is due later stays stored and waiting; `run` (or the next --once) tries it then
          if (nextAttemptAt > retryDeadline) {
            log.debug({ corp, stage: 'decrypt', nextAttemptAt }, "the next retry of waiting envelopes falls after this run's retry time; they stay waiting");
            break;
          }
          waitMs = nextAttemptAt - now();
        }
        if (nextAttemptAt !== null) waitMs = Math.min(waitMs, nextAttemptAt - now());
        log.debug({ corp, stage: 'decrypt', waitMs, nextAttemptAt }, 'nothing to decrypt now; waiting for new envelopes or the next retry');
        await sleep(waitMs, signal, this.decryptBell);
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        // the envelopes stay pending whatever failed
        const next = await this.afterFailedRound(err, failures, signal, once && finishedBefore, () =>
          log.error({ corp, stage: 'decrypt', err }, 'decrypt batch failed; its envelopes stay pending and are retried'),
        );
        if (next === 'stop') break;
      }
    }
  }

  /** Downloads the corp's media jobs; with `once`, until decryption is over and no job can be tried now. */
  private async mediaLoop(signal: AbortSignal, once: boolean, decryptFinished: () => boolean): Promise<void> {
    const { log, media } = this.deps;
    if (!media) return;
    const progress = (this.progress.media ??= { files: 0, bytes: 0, failed: 0 });
    let failures = 0;
    while (!signal.aborted) {
      const finishedBefore = decryptFinished();
      try {
        const result = await media.drain(signal, (job) => {
          progress.files += 1;
          progress.bytes += job.bytes;
          if (job.state === 'failed' || job.state === 'expired') progress.failed += 1;
        });
        // voice copies after the downloads, so a conversion never holds a download slot
        const converted = await media.convertVoices(signal);
        failures = 0;
        if (result.finished + result.deferred + converted > 0) continue;
        if (once && finishedBefore) break;
        await sleep(once ? 250 : this.timing.mediaPollIntervalMs, signal, this.mediaBell);
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        // every job keeps its committed progress whatever failed
        const next = await this.afterFailedRound(err, failures, signal, once && finishedBefore, () =>
          log.error({ corp: this.corp.corpid, stage: 'media', err: (err as Error).message }, 'media jobs could not be claimed; retrying'),
        );
        if (next === 'stop') break;
      }
    }
  }

  /**
   * What a stage loop does after its `failures`-th failed round in a row. The database being away is
   * logged once by the store's health, so the loop only waits until it is back; any other failure is
   * logged by `logFailure`, and a `once` run whose work before it is over (`mayStop`) stops after
   * `onceMaxFailures` of them. Otherwise the loop backs off and tries again.
   */
  private async afterFailedRound(err: unknown, failures: number, signal: AbortSignal, mayStop: boolean, logFailure: () => void): Promise<'retry' | 'stop'> {
    if (isDatabaseUnavailable(err)) {
      await this.deps.health.waitUntilReachable(signal);
    } else {
      logFailure();
      if (mayStop && failures >= this.timing.onceMaxFailures) return 'stop';
    }
    await sleep(this.timing.backoff.delayMs(failures), signal);
    return 'retry';
  }
}
