import type { Kysely } from 'kysely';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { EnvelopeRepository } from './envelope-repository.ts';
import { isWaitReason, RETRY_KINDS, WAIT_REASONS, type WaitReason } from './wait-reasons.ts';

/** Reasons `decrypt retry` queues again: all but malformed entries, which no try can change. */
export const RETRYABLE_REASONS: readonly WaitReason[] = WAIT_REASONS.filter((r) => RETRY_KINDS[r] !== 'never');

/**
 * Queues waiting envelopes for another try at once (`decrypt retry`): their backoff starts again
 * from the first delay. The next drain of the corp (`run`, or a running one within its requeue
 * interval) decrypts them. Returns how many per corp, only corps that had some.
 *
 * `reason`, as the operator gave it, must be a retryable reason; `corpid` a corp archived here (a
 * removed corp keeps its cursor and envelopes, so it can still be retried).
 */
export async function requeueWaiting(
  db: Kysely<Database>,
  options: { corpid?: string | undefined; reason?: string | undefined },
  now: number,
): Promise<Array<{ corpid: string; count: number }>> {
  const { corpid, reason } = options;
  if (reason !== undefined && !isWaitReason(reason)) {
    throw new ValidationError('REASON_INVALID', `--reason must be one of ${RETRYABLE_REASONS.join(', ')}, got ${JSON.stringify(reason)}`);
  }
  if (reason !== undefined && RETRY_KINDS[reason] === 'never') {
    throw new ValidationError(
      'REASON_INVALID',
      `--reason ${reason}: a malformed chat data entry is kept as WeCom sent it, and no try can make a message of it; one of ${RETRYABLE_REASONS.join(', ')}`,
    );
  }
  const envelopes = new EnvelopeRepository(db);
  if (corpid !== undefined && !(await envelopes.hasCursor(corpid))) {
    throw new NotFoundError('CORP_NOT_FOUND', `corp ${JSON.stringify(corpid)} has never been archived here; \`wecom-archive corp list\` shows the configured ones`);
  }
  return envelopes.requeueWaiting(reason ? [reason] : RETRYABLE_REASONS, corpid, now);
}
