/**
 * One pass of a media download: GetMediaData in chunks of at most 512 KB, passing the index token
 * back verbatim until is_finish. Every chunk is written to a partial file at its offset and hashed
 * (md5, SHA-256) as it arrives, so a file is never held in memory, whatever its size; after each
 * chunk the next token and the byte count are handed to `commit`, so a process killed mid-file
 * resumes at the last committed chunk.
 */
import type { Logger } from '../../app/logger.ts';
import { WeComSdkError } from '../../errors/wecom-codes.ts';
import { sleep } from '../../runtime/sleep.ts';
import { MEDIA_CHUNK_MAX, type MediaChunk, type SdkBackend } from '../../sdk/backend.ts';
import type { MediaJob } from '../../store/schema.ts';
import { classifyMediaError, type MediaPolicy } from '../media-policy.ts';
import type { PartialFiles } from './partial-files.ts';

/** How a corp's GetMediaData calls go out. */
export interface MediaFetchSettings {
  proxy: string | null;
  proxyAuth: string | null;
  timeoutS: number;
}

export interface ChunkedDownloadDeps {
  backend: SdkBackend;
  settings: MediaFetchSettings;
  partials: PartialFiles;
  policy: MediaPolicy;
  log: Logger;
}

/** Where a download pass starts: the committed token and byte count ('' and 0: the first byte). */
export interface ResumePoint {
  token: string;
  bytes: number;
}

/** Records the resume point after a chunk; false when the job's lease was lost. */
export type CommitProgress = (point: ResumePoint) => Promise<boolean>;

/** How a download pass ended. */
export type Attempt =
  | { kind: 'complete'; file: string; size: number; md5: string; sha256: string; head: Buffer }
  | { kind: 'restart'; message: string }
  | { kind: 'expired' | 'failed' | 'deferred'; code: number | null; message: string }
  | { kind: 'stopped' }
  | { kind: 'lost' };

type Fetched = { kind: 'chunk'; chunk: MediaChunk } | { kind: 'expired' | 'failed' | 'deferred'; code: number | null; message: string } | { kind: 'stopped' };

/** The job's columns a download reads. */
type DownloadJob = Pick<MediaJob, 'id' | 'sdkfileid' | 'size_expected'>;

/** A GetMediaData index token as the SDK gives it: printable ASCII, short. */
const TOKEN = /^[\x20-\x7e]{1,1024}$/;
const RANGE = /^Range:bytes=(\d{1,15})-(\d{1,15})$/;
/** why a download pass calls off the chunk it asked for ahead */
const PASS_OVER = Object.freeze({ name: 'AbortError', message: 'the download pass is over' });

export class ChunkedDownload {
  constructor(private readonly deps: ChunkedDownloadDeps) {}

  /** One pass over the file from the resume point to is_finish. */
  async run(job: DownloadJob, partial: string, resume: ResumePoint, commit: CommitProgress, outer: AbortSignal): Promise<Attempt> {
    // its own signal, so a chunk asked for ahead is called off when this pass ends early
    const local = new AbortController();
    const stop = () => local.abort();
    outer.addEventListener('abort', stop, { once: true });
    try {
      return await this.pass(job, partial, resume, commit, local.signal);
    } finally {
      outer.removeEventListener('abort', stop);
      // a plain reason: the default one is a DOMException with a stack trace, made for every file
      local.abort(PASS_OVER);
    }
  }

  /** GetMediaData for one chunk, retried on transient codes; never rejects. */
  private async fetchChunk(job: DownloadJob, token: string, signal: AbortSignal): Promise<Fetched> {
    const { settings, policy } = this.deps;
    for (let tries = 1; ; tries++) {
      if (signal.aborted) return { kind: 'stopped' };
      try {
        const chunk = await this.deps.backend.getMediaData(
          { indexBuf: token, sdkFileId: job.sdkfileid, proxy: settings.proxy ?? '', passwd: settings.proxyAuth ?? '', timeoutS: settings.timeoutS },
          signal,
        );
        // validated at the edge: it comes from WeCom (docs/design.md rule 7)
        if (!Buffer.isBuffer(chunk.data) || chunk.data.length > MEDIA_CHUNK_MAX) throw new WeComSdkError(10002, 'GetMediaData', { detail: 'a chunk larger than 512 KB' });
        if (!chunk.isFinish && !TOKEN.test(chunk.outIndex)) throw new WeComSdkError(10002, 'GetMediaData', { detail: 'an unfinished answer without a usable next index' });
        return { kind: 'chunk', chunk };
      } catch (err) {
        if (signal.aborted) return { kind: 'stopped' };
        const verdict = classifyMediaError(err);
        const message = (err as Error).message ?? String(err);
        if (verdict.action === 'expired') return { kind: 'expired', code: verdict.code, message };
        if (verdict.action === 'fail') return { kind: 'failed', code: verdict.code, message };
        if (tries >= policy.chunkTries) return { kind: 'deferred', code: verdict.code, message: `${message} (${tries} tries of the chunk at byte ${token || 0})` };
        await sleep(policy.chunkBackoff.delayMs(tries), signal);
      }
    }
  }

  private async pass(job: DownloadJob, partial: string, resume: ResumePoint, commit: CommitProgress, signal: AbortSignal): Promise<Attempt> {
    const { policy } = this.deps;
    let token = resume.token;
    let bytes = resume.bytes;
    // the first chunk is asked for at once, while the partial file opens
    let next = this.fetchChunk(job, token, signal);
    // written and hashed (md5, SHA-256) on a partial-file worker thread as the bytes arrive; a
    // resumed file is cut back to the committed length and its bytes hashed again there
    const file = this.deps.partials.open(partial, bytes);
    let finished = false;
    // the commit of the last chunk written, running while the next chunk arrives
    let committing: Promise<boolean> = Promise.resolve(true);
    try {
      if (bytes > 0 && !(await file.opened)) {
        // the partial file is missing or shorter than committed (another machine, a lost write): from zero
        this.deps.log.warn({ job: job.id }, 'the partial file does not hold the committed bytes; downloading from the start');
        return { kind: 'restart', message: 'the partial download was lost' };
      }
      const limit = Math.min(policy.maxFileBytes, job.size_expected !== null ? Number(job.size_expected) + MEDIA_CHUNK_MAX : Infinity);
      let stalls = 0;
      for (;;) {
        const got = await next;
        if (got.kind !== 'chunk') return got;
        const { chunk } = got;
        const after = bytes + chunk.data.length;
        if (after > limit)
          return {
            kind: 'failed',
            code: null,
            message: `WeCom sent more than ${limit} bytes for this file${job.size_expected !== null ? ` (announced size ${job.size_expected})` : ''}`,
          };
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
        if (stalls >= policy.stallChunks) return { kind: 'deferred', code: null, message: `${stalls} answers in a row brought no data` };
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
        committing = commit({ token, bytes });
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
}
