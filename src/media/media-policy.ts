/**
 * How media downloads retry and give up, as data rather than loops. Codes are the SDK's return codes:
 * 10001–10003 (network error, data parse failure, system failure) are worth retrying; 10010 means
 * the data expired and WeCom no longer has it; anything else fails the job with the code kept.
 */
import { WeComSdkError } from '../errors/wecom-codes.ts';
import { type Backoff, exponentialBackoff } from '../runtime/backoff.ts';

export interface MediaPolicy {
  /** tries of one chunk on transient codes, before the job is put back for later */
  chunkTries: number;
  chunkBackoff: Backoff;
  /** when a deferred job is tried again (after `failures` deferrals in a row) */
  jobBackoff: Backoff;
  /** whole-file downloads while the md5 does not match, before the job fails */
  md5Tries: number;
  /** a claimed job is another process's for this long after its last sign of life */
  leaseMs: number;
  heartbeatMs: number;
  /** a download larger than this is refused (and than the announced size plus a chunk, when known) */
  maxFileBytes: number;
  /** unfinished answers without data in a row before the file is given up */
  stallChunks: number;
}

export const DEFAULT_MEDIA_POLICY: MediaPolicy = {
  chunkTries: 6,
  chunkBackoff: exponentialBackoff(500, 15_000),
  jobBackoff: exponentialBackoff(30_000, 30 * 60_000),
  md5Tries: 3,
  leaseMs: 60_000,
  heartbeatMs: 15_000,
  maxFileBytes: 16 * 2 ** 30,
  stallChunks: 5,
};

/** SDK codes meaning the media is gone from WeCom for good. */
const EXPIRED_CODES = new Set([10010]);

export type ChunkVerdict = { action: 'retry'; code: number | null } | { action: 'expired'; code: number } | { action: 'fail'; code: number };

/** What a failed GetMediaData call means for its chunk. */
export function classifyMediaError(err: unknown): ChunkVerdict {
  if (err instanceof WeComSdkError) {
    if (err.transient) return { action: 'retry', code: err.wecomCode };
    if (EXPIRED_CODES.has(err.wecomCode)) return { action: 'expired', code: err.wecomCode };
    return { action: 'fail', code: err.wecomCode };
  }
  // a backend restarting, a broken connection to it, a local hiccup: try again, nothing is lost
  return { action: 'retry', code: null };
}
