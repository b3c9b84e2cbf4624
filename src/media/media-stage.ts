/**
 * The media stage (issue #5): claims a corp's media jobs and downloads each with GetMediaData in
 * chunks of at most 512 KB, passing the index token back verbatim until is_finish.
 *
 * - Streaming: every chunk is written to a partial file at its offset and hashed (md5, SHA-256) as
 *   it arrives; a file is never held in memory, whatever its size.
 * - Resumable: after each chunk the next token and the byte count are committed. A process killed
 *   mid-file resumes at the last committed chunk: the partial file is cut back to the committed
 *   length (bytes written after the last commit are fetched again) and re-hashed from disk.
 * - Verified: a non-empty md5sum must match, else the file is fetched again (policy.md5Tries) and
 *   then marked failed with both digests (the bytes are kept: WeCom's md5 may be what is wrong);
 *   without an md5sum the file is stored as unverified. Every file gets its SHA-256 and size.
 * - Content-addressed: stored under its SHA-256 (same bytes once); the type is sniffed from the
 *   bytes; voice recordings also get an MP3 copy beside the original.
 * - Claimed with a lease (owner, expiry, heartbeat), so several processes can share the work and a
 *   job of a process that died is picked up again; on this host a dead owner is recognized at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Logger } from '../app/logger.ts';
import { WeComSdkError } from '../errors/wecom-codes.ts';
import { scopedSignal } from '../runtime/abort.ts';
import { clipError } from '../runtime/clip.ts';
import { sleep } from '../runtime/sleep.ts';
import { isDatabaseUnavailable } from '../store/database-health.ts';
import { MEDIA_CHUNK_MAX, type MediaChunk, type SdkBackend } from '../sdk/backend.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { HOST_OWNER_PREFIX, newLeaseOwner, ownerIsDeadHere } from '../store/lease-owner.ts';
import type { Database, MediaJob, MediaTable } from '../store/schema.ts';
import { sniffContentType, type VoiceFormat } from './content-sniff.ts';
import type { Limiter } from './limiter.ts';
import { classifyMediaError, DEFAULT_MEDIA_POLICY, type MediaPolicy } from './media-policy.ts';
import { derivedKey, type MediaStore, objectKey } from './media-store.ts';
import { type PartialFiles, sharedPartialFiles } from './partial-files.ts';
import type { VoiceConverter } from './voice-converter.ts';

export interface MediaCorp {
  corpid: string;
  proxy: string | null;
  proxyAuth: string | null;
  timeoutS: number;
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

/** A GetMediaData index token as the SDK gives it: printable ASCII, short. */
const TOKEN = /^[\x20-\x7e]{1,1024}$/;
const RANGE = /^Range:bytes=(\d{1,15})-(\d{1,15})$/;
/** how long rows read for claiming are tried before the claim query runs again */
const CANDIDATES_TTL_MS = 1_000;
/** why a download pass calls off the chunk it asked for ahead */
const PASS_OVER = Object.freeze({ name: 'AbortError', message: 'the download pass is over' });

type Fetched =
  | { kind: 'chunk'; chunk: MediaChunk }
  | { kind: 'expired' | 'failed' | 'deferred'; code: number | null; message: string }
  | { kind: 'stopped' };

type Attempt =
  | { kind: 'complete'; file: string; size: number; md5: string; sha256: string; head: Buffer }
  | { kind: 'restart'; message: string }
  | { kind: 'expired' | 'failed' | 'deferred'; code: number | null; message: string }
  | { kind: 'stopped' }
  | { kind: 'lost' };

/** A job this stage holds; `started`: its download from the first byte is already counted. */
interface Claimed {
  job: MediaJob;
  started: boolean;
}

function validPartialId(id: string | null): string | null {
  return id && /^[0-9a-f]{16,32}$/.test(id) ? id : null;
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
  /** rows the last claim query found and that were not tried yet (each claim re-checks its row) */
  private candidates: MediaJob[] = [];
  private candidatesAt = 0;

  constructor(private readonly deps: MediaStageDeps, private readonly corp: MediaCorp, private readonly options: MediaStageOptions) {
    this.policy = { ...DEFAULT_MEDIA_POLICY, ...options.policy };
    this.log = deps.log.child({ corp: corp.corpid, stage: 'media' });
    this.partials = deps.partials ?? sharedPartialFiles();
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
    let exhausted = false;
    let wake: () => void = () => undefined;
    while (!signal.aborted) {
      while (downloading < this.options.corpConcurrency && running.size < this.options.corpConcurrency + maxStoring && !exhausted && !signal.aborted) {
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
          exhausted = true;
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
        this.log.debug({ job: claimed.id, msgid: claimed.msgid, fromByte: Number(claimed.bytes_done), attempt: claimed.attempts }, started ? 'media job claimed: downloading from the first byte' : 'media job claimed: resuming at the committed chunk');
        const task = this.runJob(claimed, started, signal, free)
          .then((end) => {
            this.log.debug({ job: claimed.id, state: end.state, bytes: end.bytes }, end.final ? 'media job finished' : end.state === 'pending' ? 'media job put back for a later try' : 'media job left for another round');
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
      await Promise.race([...running, new Promise<void>((resolve) => { wake = resolve; })]);
      exhausted = false;
    }
    await Promise.all(running);
    return result;
  }

  /**
   * Takes the lease of the next job that can be tried now, if any. One query finds several
   * candidates; each is then claimed by an update that only succeeds if its row has not changed
   * since it was read (same updated_at, state and lease owner), so a row another process took or
   * put back in the meantime is left alone. A job that starts from its first byte has the new
   * download counted in the same update.
   */
  private async claimOne(): Promise<Claimed | undefined> {
    for (let queried = false; ;) {
      if (this.candidates.length === 0 || this.deps.now() - this.candidatesAt > CANDIDATES_TTL_MS) {
        if (queried) return undefined;
        this.candidates = await this.findCandidates();
        this.candidatesAt = this.deps.now();
        queried = true;
      }
      while (this.candidates.length > 0) {
        const row = this.candidates.shift()!;
        if (this.inFlight.has(row.id)) continue;
        const claimed = await this.claimRow(row);
        if (claimed) return claimed;
      }
      if (queried) return undefined;
    }
  }

  private async findCandidates(): Promise<MediaJob[]> {
    const { db } = this.deps;
    const now = this.deps.now();
    let q = db.selectFrom('media').selectAll()
      .where('corpid', '=', this.corp.corpid)
      .where('state', 'in', ['pending', 'downloading'])
      .where('next_try_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', 'like', `${HOST_OWNER_PREFIX}%`)]));
    if (this.inFlight.size) q = q.where('id', 'not in', [...this.inFlight]);
    return q.orderBy('id').limit(this.options.corpConcurrency * 2 + 2).execute();
  }

  private async claimRow(row: MediaJob): Promise<Claimed | undefined> {
    const now = this.deps.now();
    const leased = row.lease_owner !== null && row.lease_until !== null && Number(row.lease_until) >= now;
    // a lease of this stage on a job a database outage cut off (not one that crashed: that one waits
    // for its lease to end, so a job that keeps crashing is not taken up again at once)
    const ownStale = row.lease_owner === this.owner && this.interrupted.has(row.id);
    if (leased && !ownStale && !ownerIsDeadHere(row.lease_owner!)) {
      this.log.debug({ job: row.id, holder: row.lease_owner }, 'media job leased by another process; left to it');
      return undefined;
    }
    const until = now + this.policy.leaseMs;
    const claim: Partial<Omit<MediaTable, 'id'>> = { lease_owner: this.owner, lease_until: until, state: 'downloading', updated_at: now };
    // a download from the first byte is counted (and given its partial file) as it is claimed;
    // a job without a usable sdkfileid is failed by runJob and counts no download
    const partialId = validPartialId(row.partial_id);
    const started = row.sdkfileid !== '' && typeof row.index_token === 'string' && (partialId === null || (row.index_token === '' && Number(row.bytes_done) === 0));
    if (started) Object.assign(claim, { attempts: row.attempts + 1, index_token: '', bytes_done: 0, partial_id: partialId ?? randomBytes(12).toString('hex') });
    const r = await this.deps.db.updateTable('media').set(claim)
      .where('id', '=', row.id)
      .where('updated_at', '=', row.updated_at)
      .where('state', '=', row.state)
      .where((eb) => (row.lease_owner === null ? eb('lease_owner', 'is', null) : eb('lease_owner', '=', row.lease_owner)))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    this.interrupted.delete(row.id);
    return { job: { ...row, ...claim } as MediaJob, started };
  }

  /** Updates the job if this stage still holds its lease; false when another process took it. */
  private async update(id: number, values: Partial<Omit<MediaTable, 'id'>>): Promise<boolean> {
    const r = await this.deps.db.updateTable('media').set({ ...values, updated_at: this.deps.now() })
      .where('id', '=', id).where('lease_owner', '=', this.owner).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** One job to its end, or until deferred, stopped or its lease is lost. */
  private async runJob(job: MediaJob, started: boolean, signal: AbortSignal, downloaded: () => void): Promise<{ final: boolean; state: string; bytes: number }> {
    // the job contract: validate on the first line (style.md "Jobs")
    if (!job.sdkfileid || typeof job.index_token !== 'string') {
      await this.finish(job.id, { state: 'failed', error_code: null, error: 'the job has no usable sdkfileid' });
      return { final: true, state: 'failed', bytes: 0 };
    }
    const ctrl = new AbortController();
    const stop = () => ctrl.abort();
    signal.addEventListener('abort', stop, { once: true });
    const heartbeat = setInterval(() => {
      void this.update(job.id, { lease_until: this.deps.now() + this.policy.leaseMs }).then((held) => {
        if (!held) ctrl.abort();
      }, () => undefined);
    }, this.policy.heartbeatMs);
    let partialId = validPartialId(job.partial_id);
    let partial = '';
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
        partial = join(this.deps.partialDir, `${partialId}.part`);
        let outcome: Attempt;
        try {
          outcome = await this.download(job, partial, resume, ctrl.signal);
        } catch (err) {
          // a progress commit the database could not take: no reason to defer the job for minutes;
          // it keeps its lease and committed progress and is claimed again once the database is back
          if (isDatabaseUnavailable(err)) throw err;
          if (ctrl.signal.aborted) outcome = { kind: 'stopped' };
          else outcome = { kind: 'deferred', code: null, message: `download failed: ${(err as Error).message}` };
        }
        switch (outcome.kind) {
          case 'complete': {
            const expected = job.md5_expected;
            if (expected && expected !== outcome.md5 && attempts < this.policy.md5Tries) {
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

  /** Puts the job back for a later try (backoff grows with each deferral), progress kept. */
  private async defer(job: MediaJob, code: number | null, message: string): Promise<void> {
    const failures = job.failures + 1;
    const delay = this.policy.jobBackoff.delayMs(failures);
    this.log.debug({ job: job.id, failures, waitMs: delay }, `media job backs off after ${failures} deferral(s) in a row`);
    this.log.warn({ job: job.id, code, retryInS: Math.round(delay / 1000) }, `media download deferred: ${message}`);
    await this.update(job.id, { state: 'pending', failures, next_try_at: this.deps.now() + delay, error_code: code, error: clipError(message), lease_owner: null, lease_until: null });
  }

  private async finish(id: number, values: Partial<Omit<MediaTable, 'id'>>): Promise<void> {
    await this.update(id, { ...values, error: clipError(values.error) ?? null, lease_owner: null, lease_until: null, finished_at: this.deps.now() });
  }

  /** GetMediaData for one chunk, retried on transient codes; never rejects. */
  private async fetchChunk(job: MediaJob, token: string, signal: AbortSignal): Promise<Fetched> {
    const { corp } = this;
    for (let tries = 1; ; tries++) {
      if (signal.aborted) return { kind: 'stopped' };
      try {
        const chunk = await this.deps.backend.getMediaData({ indexBuf: token, sdkFileId: job.sdkfileid, proxy: corp.proxy ?? '', passwd: corp.proxyAuth ?? '', timeoutS: corp.timeoutS }, signal);
        // validated at the edge: it comes from WeCom (design rule 7)
        if (!Buffer.isBuffer(chunk.data) || chunk.data.length > MEDIA_CHUNK_MAX) throw new WeComSdkError(10002, 'GetMediaData', { detail: 'a chunk larger than 512 KB' });
        if (!chunk.isFinish && !TOKEN.test(chunk.outIndex)) throw new WeComSdkError(10002, 'GetMediaData', { detail: 'an unfinished answer without a usable next index' });
        return { kind: 'chunk', chunk };
      } catch (err) {
        if (signal.aborted) return { kind: 'stopped' };
        const verdict = classifyMediaError(err);
        const message = (err as Error).message ?? String(err);
        if (verdict.action === 'expired') return { kind: 'expired', code: verdict.code, message };
        if (verdict.action === 'fail') return { kind: 'failed', code: verdict.code, message };
        if (tries >= this.policy.chunkTries) return { kind: 'deferred', code: verdict.code, message: `${message} (${tries} tries of the chunk at byte ${token || 0})` };
        await sleep(this.policy.chunkBackoff.delayMs(tries), signal);
      }
    }
  }

  /** One pass over the file from the resume point to is_finish. */
  private async download(job: MediaJob, partial: string, resume: { token: string; bytes: number }, outer: AbortSignal): Promise<Attempt> {
    // its own signal, so a chunk asked for ahead is called off when this pass ends early
    const local = new AbortController();
    const stop = () => local.abort();
    outer.addEventListener('abort', stop, { once: true });
    try {
      return await this.downloadPass(job, partial, resume, local.signal);
    } finally {
      outer.removeEventListener('abort', stop);
      // a plain reason: the default one is a DOMException with a stack trace, made for every file
      local.abort(PASS_OVER);
    }
  }

  private async downloadPass(job: MediaJob, partial: string, resume: { token: string; bytes: number }, signal: AbortSignal): Promise<Attempt> {
    let token = resume.token;
    let bytes = resume.bytes;
    // the first chunk is asked for at once, while the partial file opens
    let next = this.fetchChunk(job, token, signal);
    // written and hashed (md5, SHA-256) on a partial-file worker thread as the bytes arrive; a
    // resumed file is cut back to the committed length and its bytes hashed again there
    const file = this.partials.open(partial, bytes);
    let finished = false;
    // the commit of the last chunk written, running while the next chunk arrives
    let committing: Promise<boolean> = Promise.resolve(true);
    try {
      if (bytes > 0 && !(await file.opened)) {
        // the partial file is missing or shorter than committed (another machine, a lost write): from zero
        this.log.warn({ job: job.id }, 'the partial file does not hold the committed bytes; downloading from the start');
        return { kind: 'restart', message: 'the partial download was lost' };
      }
      const limit = Math.min(this.policy.maxFileBytes, job.size_expected !== null ? Number(job.size_expected) + MEDIA_CHUNK_MAX : Infinity);
      let stalls = 0;
      for (;;) {
        const got = await next;
        if (got.kind !== 'chunk') return got;
        const { chunk } = got;
        const after = bytes + chunk.data.length;
        if (after > limit) return { kind: 'failed', code: null, message: `WeCom sent more than ${limit} bytes for this file${job.size_expected !== null ? ` (announced size ${job.size_expected})` : ''}` };
        if (chunk.isFinish) {
          // the last bytes, then the digests, in one exchange with the worker; chunk.data is
          // handed over (moved, not copied) and not read again. No fsync here: the local store
          // syncs the file before it renames it into place (S3 needs none)
          const digest = await file.finish(chunk.data, bytes);
          finished = true;
          if (digest.size !== after) throw new Error(`the partial file has ${digest.size} bytes, ${after} arrived`);
          // no progress commit may land after the job's final update
          if (!(await committing)) return { kind: 'lost' };
          return { kind: 'complete', file: partial, size: after, md5: digest.md5, sha256: digest.sha256, head: digest.head };
        }
        const range = RANGE.exec(chunk.outIndex);
        // a token that does not continue where the data ends would leave a hole or a repeat
        if (range && Number(range[1]) !== after) return { kind: 'restart', message: `the next index token starts at byte ${range[1]}, but ${after} bytes have arrived` };
        stalls = chunk.data.length === 0 ? stalls + 1 : 0;
        if (stalls >= this.policy.stallChunks) return { kind: 'deferred', code: null, message: `${stalls} answers in a row brought no data` };
        // the next chunk is asked for while this one is written and committed
        next = this.fetchChunk(job, chunk.outIndex, signal);
        // chunk.data is handed over here (moved, not copied) and not read again
        await file.write(chunk.data, bytes);
        bytes = after;
        token = chunk.outIndex;
        // the resume point, committed while the next chunk arrives. Issued only once this chunk's
        // bytes are written (a committed count is always on disk) and the commit before it is done
        // (commits land in order, each after its own chunk), so resuming from any committed token
        // repeats or skips no byte
        if (!(await committing)) return { kind: 'lost' };
        committing = this.update(job.id, { index_token: token, bytes_done: bytes, lease_until: this.deps.now() + this.policy.leaseMs });
        // a failed commit is seen where it is awaited (next chunk, end, or the finally below)
        committing.catch(() => undefined);
        if (signal.aborted) return { kind: 'stopped' };
      }
    } finally {
      // a chunk asked for ahead and no longer wanted: let it finish quietly
      void next.catch(() => undefined);
      // whatever ends this pass, its last progress commit lands before the job's next update
      await committing.catch(() => undefined);
      if (!finished) await file.discard();
    }
  }

  /** Verifies, stores (and converts voice), and records the final state. */
  private async store(job: MediaJob, file: Extract<Attempt, { kind: 'complete' }>, attempts: number): Promise<string> {
    const { store } = this.deps;
    const expected = job.md5_expected;
    const sniffed = sniffContentType(file.head);
    let state: 'done' | 'unverified' | 'failed';
    let error: string | null = null;
    if (expected && expected !== file.md5) {
      state = 'failed';
      error = `md5 mismatch after ${attempts} downloads: WeCom's md5sum is ${expected}, the downloaded file's md5 is ${file.md5} (the last download is kept)`;
    } else if (expected) {
      state = 'done';
    } else {
      state = 'unverified';
      error = job.md5_expected === null ? 'WeCom gave no usable md5sum, so the file could not be verified' : null;
    }
    if (job.size_expected !== null && Number(job.size_expected) !== file.size && state !== 'failed') {
      error = `${error ? `${error}; ` : ''}WeCom announced ${job.size_expected} bytes, the file has ${file.size}`;
    }

    const key = objectKey(file.sha256);
    await store.putFile(key, file.file, { size: file.size, sha256: file.sha256, contentType: sniffed.contentType });
    await this.finish(job.id, {
      state, error_code: null, error, sha256: file.sha256, md5: file.md5, size: file.size,
      content_type: sniffed.contentType, storage_key: key, voice_format: sniffed.voice,
      // the playable copy is made by convertVoices(), so a download slot never waits on a conversion
      converted_key: null, converted_type: null, convert_error: null,
      index_token: '', bytes_done: file.size, failures: 0,
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
      const rows = await db.selectFrom('media').select(['id', 'sha256', 'storage_key', 'voice_format'])
        .where('corpid', '=', this.corp.corpid).where('voice_format', 'is not', null).where('storage_key', 'is not', null)
        .where('converted_key', 'is', null).where('convert_error', 'is', null)
        .where('state', 'in', ['done', 'unverified', 'failed']).orderBy('id').limit(16).execute();
      const todo = rows.filter((r) => !seen.has(r.id));
      if (todo.length === 0) return handled;
      for (const row of todo) {
        if (signal.aborted) break;
        seen.add(row.id);
        let result: Awaited<ReturnType<MediaStage['convertOne']>>;
        try {
          result = await this.convertOne(row as { id: number; sha256: string; storage_key: string; voice_format: VoiceFormat });
        } catch {
          // the store could not be read or written: the copy is tried again on a later pass
          continue;
        }
        await db.updateTable('media').set({ ...result, updated_at: this.deps.now() })
          .where('id', '=', row.id).where('converted_key', 'is', null).where('convert_error', 'is', null).execute();
        handled += 1;
      }
    }
    return handled;
  }

  private async convertOne(row: { id: number; sha256: string; storage_key: string; voice_format: VoiceFormat }): Promise<Pick<MediaTable, 'converted_key' | 'converted_type' | 'convert_error'>> {
    const { store } = this.deps;
    const copyKey = derivedKey(row.sha256, 'mp3');
    if (await store.has(copyKey)) return { converted_key: copyKey, converted_type: 'audio/mpeg', convert_error: null };
    await mkdir(this.deps.partialDir, { recursive: true, mode: 0o700 });
    const base = join(this.deps.partialDir, `voice-${randomBytes(8).toString('hex')}`);
    try {
      // the original comes back from the store (it may be in a bucket), into a local file
      await pipeline(await store.read(row.storage_key), createWriteStream(`${base}.in`, { mode: 0o600 }));
      const r = await this.deps.voice.convert(`${base}.in`, row.voice_format, `${base}.mp3`);
      if (!r.ok) return { converted_key: null, converted_type: null, convert_error: clipError(r.reason) };
      await store.putFile(copyKey, `${base}.mp3`, { size: r.bytes, sha256: await sha256OfFile(`${base}.mp3`), contentType: r.contentType });
      return { converted_key: copyKey, converted_type: r.contentType, convert_error: null };
    } catch (err) {
      this.log.warn({ job: row.id, err: (err as Error).message }, 'voice conversion failed; tried again later');
      throw err;
    } finally {
      await rm(`${base}.in`, { force: true });
      await rm(`${base}.mp3`, { force: true });
    }
  }
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
