import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { EnvelopeRepository } from './envelope-repository.ts';
import { RETRY_KINDS, WAIT_REASONS, type WaitReason } from './wait-reasons.ts';

/** Reasons `decrypt retry` queues again: all but malformed entries, which no try can change. */
export const RETRYABLE_REASONS: readonly WaitReason[] = WAIT_REASONS.filter((r) => RETRY_KINDS[r] !== 'never');

/**
 * Queues waiting envelopes for another try at once (`decrypt retry`): their backoff starts again
 * from the first delay. The next drain of the corp (`run`, or a running one within its requeue
 * interval) decrypts them. Returns how many per corp, only corps that had some.
 */
export function requeueWaiting(
  db: Kysely<Database>,
  options: { corpid?: string | undefined; reason?: WaitReason | undefined },
  now: number,
): Promise<Array<{ corpid: string; count: number }>> {
  const reasons = options.reason ? [options.reason] : RETRYABLE_REASONS;
  return new EnvelopeRepository(db).requeueWaiting(reasons, options.corpid, now);
}
