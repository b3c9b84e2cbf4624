/**
 * The media stage: claims a corp's media jobs, downloads each in resumable chunks
 * (download/chunked-download.ts), verifies it (verify/), stores it under its SHA-256 and records
 * the final state; voice recordings later get a playable copy (voice/voice-copy.ts).
 *
 * - Resumable: a process killed mid-file resumes at the last committed chunk: the partial file is
 *   cut back to the committed length (bytes written after the last commit are fetched again).
 * - Verified: a non-empty md5sum must match, else the file is fetched again (policy.md5Tries) and
 *   then marked failed with both digests; without an md5sum the file is stored as unverified.
 * - Content-addressed: stored under its SHA-256 (same bytes once); the type is sniffed from the
 *   bytes.
 * - Claimed with a lease (owner, expiry, heartbeat) through the claim queue of store/claims
 *   (jobs/media-job-queue.ts), so several processes can share the work and a job of a process that
 *   died is picked up again; on this host a dead owner is recognized at once. Every other query is
 *   in jobs/.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Logger } from '../app/logger.ts';
import { scopedSignal } from '../runtime/abort.ts';
import { clipError } from '../runtime/clip.ts';
import { isDatabaseUnavailable } from '../store/database-health.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import { recordMediaFinished } from '../outbox/outbox-writer.ts';
import { ClaimQueue } from '../store/claims/claim-queue.ts';
import { updateHeldRow } from '../store/claims/lease.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { transactionRetryingConflicts } from '../store/in-transaction.ts';
import { newLeaseOwner } from '../store/lease-owner.ts';
import type { Database, MediaJob } from '../store/schema.ts';
import { type Attempt, ChunkedDownload, type MediaFetchSettings, type ResumePoint } from './download/chunked-download.ts';
import type { Limiter } from './download/limiter.ts';
import { type PartialFiles, sharedPartialFiles } from './download/partial-files.ts';
import { MEDIA_QUEUE, type MediaJobUpdate } from './jobs/media-job-queue.ts';
import { recordVoiceCopy, voicesWithoutCopy } from './jobs/media-job-repository.ts';
import { DEFAULT_MEDIA_POLICY, type MediaPolicy } from './media-policy.ts';
import { type MediaStore, objectKey } from './storage/media-store.ts';
import { sniffContentType } from './verify/content-sniff.ts';
import { md5CallsForRetry, verifyDownload } from './verify/verify-download.ts';
import type { VoiceConverter } from './voice/voice-converter.ts';
import { makeVoiceCopy } from './voice/voice-copy.ts';

export interface MediaCorp extends MediaFetchSettings {
  corpid: string;
}

export interface MediaStageDeps {
  db: Kysely<Database>;
  dialect: StoreDialect;
  backend: SdkBackend;
  store: MediaStore;
  voice: VoiceConverter;
  /** shared by every corp's stage: the overall bound on downloads at once */
  limiter: Limiter;
  /** partial downloads, on local disk */
  partialDir: string;
  /** writes and hashes partial files off the main thread; default: the process's shared worker */
  partials?: PartialFiles;
  log: Logger;
  now(): number;
}

export interface MediaStageOptions {
  /** downloads at once for this corp */
  corpConcurrency: number;
  policy?: Partial<MediaPolicy>;
}

export interface MediaDrainResult {
  /** jobs that reached a final state (done, unverified, failed, expired) */
  finished: number;
  /** jobs put back for a later try (transient failures) */
  deferred: number;
  bytes: number;
}

/** voices read per query for their playable copies */
const VOICE_BATCH = 16;

/** A job this stage holds; `started`: its download from the first byte is already counted. */
interface Claimed {
  job: MediaJob;
  started: boolean;
}

function validPartialId(id: string | null): string | null {
  return id && /^[0-9a-f]{16,32}$/.test(id) ? id : null;
}

/**
 * What the claim of a job writes when its download starts from the first byte: the download is
 * counted and given its partial file. Undefined when it resumes at its committed chunk, or has no
 * usable sdkfileid (runJob fails that job and counts no download).
 */
function firstByteStart(row: MediaJob): MediaJobUpdate | undefined {
  const partialId = validPartialId(row.partial_id);
  const fromStart = row.sdkfileid !== '' && typeof row.index_token === 'string' && (partialId === null || (row.index_token === '' && Number(row.bytes_done) === 0));
  return fromStart ? { attempts: row.attempts + 1, index_token: '', bytes_done: 0, partial_id: partialId ?? randomBytes(12).toString('hex') } : undefined;
}

export class MediaStage {
  /** who holds this stage's leases: host/pid/random */
  readonly owner = newLeaseOwner();
  private readonly policy: MediaPolicy;
  private readonly inFlight = new Set<number>();
  /** jobs a database outage cut off: they keep this stage's lease, and this stage takes them up again */
  private readonly interrupted = new Set<number>();
  private readonly log: Logger;
  private readonly partials: PartialFiles;
  private readonly queue: ClaimQueue<'media'>;
  private readonly downloader: ChunkedDownload;

  constructor(
    private readonly deps: MediaStageDeps,
    private readonly corp: MediaCorp,
    private readonly options: MediaStageOptions,
  ) {
    this.policy = { ...DEFAULT_MEDIA_POLICY, ...options.policy };
    this.log = deps.log.child({ corp: corp.corpid, stage: 'media' });
    this.partials = deps.partials ?? sharedPartialFiles();
    this.queue = new ClaimQueue(deps.db, MEDIA_QUEUE, () => deps.now());
    this.downloader = new ChunkedDownload({ backend: deps.backend, settings: corp, partials: this.partials, policy: this.policy, log: this.log });
  }

  /**
   * Downloads every job of the corp that can be tried now, `corpConcurrency` at a time (and within
   * the shared limiter), until none is left or `outer` aborts. Jobs deferred to later stay pending.
   */
  async drain(outer: AbortSignal, onFinished?: (job: { state: string; bytes: number }) => void): Promise<MediaDrainResult> {
    // GetMediaData calls are what the bounds are for: a job gives its slot back once its bytes are
    // in, and stores them (fsync, rename, upload) while the next download runs. Stores are bounded
    // too, but generously: a store holds no buffers, only a file waiting for its fsyncs, and several
    // fsyncs queue behind one another on a busy disk (tens of ms each), which must not stall downloads
    const maxStoring = Math.max(16, this.options.corpConcurrency * 8);
    // the partial-file workers start while the first jobs are claimed (or before there are any)
    this.partials.warm();
    // every running job listens for the stop: one listener per job that can run at once, and the limiter's wait
    const local = scopedSignal(outer, this.options.corpConcurrency + maxStoring + 1);
    try {
      return await this.drainJobs(local.signal, maxStoring, onFinished);
    } finally {
      local.release();
    }
  }

  private async drainJobs(signal: AbortSignal, maxStoring: number, onFinished?: (job: { state: string; bytes: number }) => void): Promise<MediaDrainResult> {
    const result: MediaDrainResult = { finished: 0, deferred: 0, bytes: 0 };
    const running = new Set<Promise<void>>();
    let downloading = 0;
    let wake: () => void = () => undefined;
    while (!signal.aborted) {
      while (downloading < this.options.corpConcurrency && running.size < this.options.corpConcurrency + maxStoring && !signal.aborted) {
        const release = await this.deps.limiter.acquire(signal);
        if (!release) break;
        let job: Claimed | undefined;
        try {
          job = await this.claimOne();
        } catch (err) {
          release();
          // the jobs already running end on their own (the database is likely away for them too)
          // before the error reaches the loop, which would otherwise start a second drain beside them
          await Promise.all(running);
          throw err;
        }
        if (!job) {
          release();
          break;
        }
        const claimed = job.job;
        const started = job.started;
        this.inFlight.add(claimed.id);
        downloading += 1;
        let freed = false;
        const free = (): void => {
          if (freed) return;
          freed = true;
          downloading -= 1;
          release();
          wake();
        };
        this.log.debug(
          { job: claimed.id, msgid: claimed.msgid, fromByte: Number(claimed.bytes_done), attempt: claimed.attempts },
          started ? 'media job claimed: downloading from the first byte' : 'media job claimed: resuming at the committed chunk',
        );
        const task = this.runJob(claimed, started, signal, free)
          .then((end) => {
            this.log.debug(
              { job: claimed.id, state: end.state, bytes: end.bytes },
              end.final ? 'media job finished' : end.state === 'pending' ? 'media job put back for a later try' : 'media job left for another round',
            );
            if (end.final) {
              result.finished += 1;
              result.bytes += end.bytes;
              onFinished?.({ state: end.state, bytes: end.bytes });
            } else if (end.state === 'pending') result.deferred += 1;
          })
          .catch((err: unknown) => {
            // the database went away mid-job: its progress is committed up to the last chunk, the
            // outage is logged once by the store's health, and the job is claimed again when it is back
            if (isDatabaseUnavailable(err)) {
              this.interrupted.add(claimed.id);
              this.log.debug({ job: claimed.id, err: (err as Error).message }, 'media job interrupted: the database is unreachable');
            } else this.log.error({ job: claimed.id, err: (err as Error).message }, 'media job crashed; it is tried again later');
          })
          .finally(() => {
            this.inFlight.delete(claimed.id);
            free();
          });
        running.add(task);
        void task.finally(() => running.delete(task));
      }
      if (running.size === 0) break;
      await Promise.race([
        ...running,
        new Promise<void>((resolve) => {
          wake = resolve;
        }),
      ]);
    }
    await Promise.all(running);
    return result;
  }

  /**
   * Takes the lease of the next job of the corp that can be tried now, if any: by an update that
   * only succeeds if its row has not changed since it was read, so a job another process took or
   * put back in the meantime is left alone. A job that starts from its first byte has the new
   * download counted in the same update.
   */
  private async claimOne(): Promise<Claimed | undefined> {
    const fromFirstByte = new Set<number>();
    const {
      claimed: [job],
      heldElsewhere,
    } = await this.queue.claim(this.owner, 1, this.policy.leaseMs, {
      where: { corpid: this.corp.corpid },
      except: { id: [...this.inFlight] },
      // a lease of this stage on a job a database outage cut off is taken again (not one that crashed:
      // that one waits for its lease to end, so a job that keeps crashing is not taken up again at once)
      retakeOwn: (row) => this.interrupted.has(row.id),
      // jobs other processes of this host hold come first in the read when their ids are lower
      scan: this.options.corpConcurrency * 2 + 2,
      values: (row) => {
        const start = firstByteStart(row);
        if (start) fromFirstByte.add(row.id);
        return start ?? {};
      },
    });
    if (heldElsewhere > 0) this.log.debug({ held: heldElsewhere }, 'media jobs leased by another process; left to it');
    if (!job) return undefined;
    this.interrupted.delete(job.id);
    return { job, started: fromFirstByte.has(job.id) };
  }

  /** Updates the job if this stage still holds its lease; false when another process took it. */
  private update(id: number, values: MediaJobUpdate): Promise<boolean> {
    return updateHeldRow(this.deps.db, 'media', { id }, this.owner, { ...values, updated_at: this.deps.now() });
  }

  /** One job to its end, or until deferred, stopped or its lease is lost. */
  private async runJob(job: MediaJob, started: boolean, signal: AbortSignal, downloaded: () => void): Promise<{ final: boolean; state: string; bytes: number }> {
    // like every job handler, it validates its input on the first line
    if (!job.sdkfileid || typeof job.index_token !== 'string') {
      await this.finish(job.id, { state: 'failed', error_code: null, error: 'the job has no usable sdkfileid' });
      return { final: true, state: 'failed', bytes: 0 };
    }
    const ctrl = new AbortController();
    const stop = () => ctrl.abort();
    signal.addEventListener('abort', stop, { once: true });
    const heartbeat = setInterval(() => {
      void this.update(job.id, { lease_until: this.deps.now() + this.policy.leaseMs }).then(
        (held) => {
          if (!held) ctrl.abort();
        },
        () => undefined,
      );
    }, this.policy.heartbeatMs);
    let partialId = validPartialId(job.partial_id);
    let attempts = job.attempts;
    let resume = { token: partialId ? job.index_token : '', bytes: partialId ? Number(job.bytes_done) : 0 };
    // the claim already counted this download from the first byte
    let counted = started;
    try {
      for (;;) {
        if (counted) counted = false;
        else if (resume.bytes === 0 && resume.token === '') {
          attempts += 1;
          if (partialId === null) partialId = randomBytes(12).toString('hex');
          if (!(await this.update(job.id, { attempts, index_token: '', bytes_done: 0, partial_id: partialId }))) return { final: false, state: 'lost', bytes: 0 };
        }
        const partial = join(this.deps.partialDir, `${partialId}.part`);
        let outcome: Attempt;
        try {
          outcome = await this.downloader.run(job, partial, resume, (point) => this.commitProgress(job.id, point), ctrl.signal);
        } catch (err) {
          // a progress commit the database could not take: no reason to defer the job for minutes;
          // it keeps its lease and committed progress and is claimed again once the database is back
          if (isDatabaseUnavailable(err)) throw err;
          if (ctrl.signal.aborted) outcome = { kind: 'stopped' };
          else outcome = { kind: 'deferred', code: null, message: `download failed: ${(err as Error).message}` };
        }
        switch (outcome.kind) {
          case 'complete': {
            if (md5CallsForRetry(job, outcome.md5, attempts, this.policy.md5Tries)) {
              this.log.warn({ job: job.id, attempt: attempts }, 'md5 does not match; downloading the file again');
              await rm(outcome.file, { force: true });
              resume = { token: '', bytes: 0 };
              continue;
            }
            downloaded();
            try {
              const state = await this.store(job, outcome, attempts);
              return { final: true, state, bytes: outcome.size };
            } catch (err) {
              // the file is stored (by its SHA-256, so storing it again later writes nothing new); only
              // its row could not be written: claimed again once the database is back
              if (isDatabaseUnavailable(err)) throw err;
              // the store refused (bucket down, disk full): keep the download, try storing later
              await this.defer(job, null, `storing the file failed: ${(err as Error).message}`);
              return { final: false, state: 'pending', bytes: 0 };
            }
          }
          case 'restart':
            await rm(partial, { force: true });
            if (attempts >= this.policy.md5Tries) {
              await this.finish(job.id, { state: 'failed', error_code: null, error: `${outcome.message} (${attempts} downloads)` });
              return { final: true, state: 'failed', bytes: 0 };
            }
            this.log.warn({ job: job.id }, `${outcome.message}; downloading the file again`);
            resume = { token: '', bytes: 0 };
            continue;
          case 'expired':
          case 'failed':
            await rm(partial, { force: true });
            await this.finish(job.id, { state: outcome.kind, error_code: outcome.code, error: outcome.message });
            return { final: true, state: outcome.kind, bytes: 0 };
          case 'deferred':
            await this.defer(job, outcome.code, outcome.message);
            return { final: false, state: 'pending', bytes: 0 };
          case 'stopped':
            // progress is committed; let any process resume at once
            await this.update(job.id, { lease_owner: null, lease_until: null }).catch(() => undefined);
            return { final: false, state: 'downloading', bytes: 0 };
          case 'lost':
            return { final: false, state: 'lost', bytes: 0 };
        }
      }
    } finally {
      clearInterval(heartbeat);
      signal.removeEventListener('abort', stop);
    }
  }

  /**
   * Puts the job back for a later try, progress kept: a failed try of the claim queue, whose
   * backoff grows with `failures` (deferrals in a row); a media job is never given up for them.
   */
  private async defer(job: MediaJob, code: number | null, message: string): Promise<void> {
    const deferredAt = this.deps.now();
    const { tries, nextAt } = await this.queue.fail(job, this.owner, { backoff: this.policy.jobBackoff }, { values: () => ({ error_code: code, error: clipError(message) }) });
    const delay = nextAt - deferredAt;
    this.log.debug({ job: job.id, failures: tries, waitMs: delay }, `media job backs off after ${tries} deferral(s) in a row`);
    this.log.warn({ job: job.id, code, retryInS: Math.round(delay / 1000) }, `media download deferred: ${message}`);
  }

  /** Records the job's final state and gives its lease back. */
  private async finish(id: number, values: MediaJobUpdate): Promise<void> {
    // the final state and the event that reports a stored file commit together
    await transactionRetryingConflicts(this.deps.db, this.deps.dialect, async (trx) => {
      const held = await new ClaimQueue(trx, MEDIA_QUEUE, this.deps.now).finish({ id }, this.owner, {
        ...values,
        error: clipError(values.error) ?? null,
        finished_at: this.deps.now(),
      });
      if (held) await recordMediaFinished(trx, this.deps.dialect, id, this.deps.now());
    });
  }

  /** The resume point after a chunk, with the lease renewed; false when the lease was lost. */
  private commitProgress(id: number, point: ResumePoint): Promise<boolean> {
    return this.update(id, { index_token: point.token, bytes_done: point.bytes, lease_until: this.deps.now() + this.policy.leaseMs });
  }

  /** Verifies, stores (and converts voice), and records the final state. */
  private async store(job: MediaJob, file: Extract<Attempt, { kind: 'complete' }>, attempts: number): Promise<string> {
    const { store } = this.deps;
    const sniffed = sniffContentType(file.head);
    const { state, error } = verifyDownload(job, file, attempts);
    const key = objectKey(file.sha256);
    await store.putFile(key, file.file, { size: file.size, sha256: file.sha256, contentType: sniffed.contentType });
    await this.finish(job.id, {
      state,
      error_code: null,
      error,
      sha256: file.sha256,
      md5: file.md5,
      size: file.size,
      content_type: sniffed.contentType,
      storage_key: key,
      voice_format: sniffed.voice,
      // the playable copy is made by convertVoices(), so a download slot never waits on a conversion
      converted_key: null,
      converted_type: null,
      convert_error: null,
      index_token: '',
      bytes_done: file.size,
      failures: 0,
    });
    return state;
  }

  /**
   * Makes the browser-playable copy of every stored voice of the corp that has none yet (and no
   * reason why not). A copy is keyed by the original's SHA-256, so the same voice is converted
   * once; two processes converting the same voice write the same object. Returns how many were done.
   */
  async convertVoices(signal: AbortSignal): Promise<number> {
    const { db } = this.deps;
    let handled = 0;
    const seen = new Set<number>();
    while (!signal.aborted) {
      const rows = await voicesWithoutCopy(db, this.corp.corpid, VOICE_BATCH);
      const todo = rows.filter((r) => !seen.has(r.id));
      if (todo.length === 0) return handled;
      for (const row of todo) {
        if (signal.aborted) break;
        seen.add(row.id);
        let result: Awaited<ReturnType<typeof makeVoiceCopy>>;
        try {
          result = await makeVoiceCopy({ store: this.deps.store, voice: this.deps.voice, partialDir: this.deps.partialDir, log: this.log }, row);
        } catch {
          // the store could not be read or written: the copy is tried again on a later pass
          continue;
        }
        await recordVoiceCopy(db, row.id, result, this.deps.now());
        handled += 1;
      }
    }
    return handled;
  }
}
