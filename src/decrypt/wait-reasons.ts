import { SDK_CODES } from '../errors/wecom-codes.ts';
import { doublingDelayMs } from '../runtime/backoff.ts';
import { WAIT_REASONS, type WaitReason } from '../store/vocabulary.ts';

/**
 * Why an envelope waits instead of becoming a message: every value the envelopes' `reason` column
 * holds (defined in store/vocabulary.ts, below the schema that types the column with it).
 */
export { WAIT_REASONS, type WaitReason };

/**
 * How a waiting envelope gets another try:
 * - 'automatic': by itself at its `next_attempt_at`, with backoff, forever (docs/design.md rule 3);
 * - 'key': as soon as the private key of its version is stored (`keys add`);
 * - 'operator': only through `decrypt retry`, once something was fixed (a key, the software);
 * - 'never': a malformed chat data entry, kept as WeCom sent it; trying again cannot change it.
 */
export type RetryKind = 'automatic' | 'key' | 'operator' | 'never';

/** The retry of each reason when the failure is not transient (a transient one is always 'automatic'). */
export const RETRY_KINDS: Readonly<Record<WaitReason, RetryKind>> = Object.freeze({
  key_missing: 'key',
  rsa_failed: 'operator',
  bad_base64: 'operator',
  bad_json: 'operator',
  sdk_error: 'operator',
  bad_envelope: 'never',
});

/** Capped exponential backoff of automatic retries: first delay, doubled at each failed try, up to the cap. */
export interface RetryBackoff {
  firstDelayMs: number;
  maxDelayMs: number;
}

/**
 * Transient SDK failures (busy, network, host restarting): 5 s, 10 s, 20 s … then hourly. No jitter:
 * a batch's envelopes fail together and should come back together, in one batch, not one by one.
 */
export const TRANSIENT_BACKOFF: RetryBackoff = Object.freeze({ firstDelayMs: 5_000, maxDelayMs: 3_600_000 });

/** Whether an SDK failure with this code may succeed later unchanged (null: the backend itself was unreachable). */
export function isTransientSdkCode(code: number | null): boolean {
  return code === null || SDK_CODES[code]?.transient === true;
}

/** How envelopes waiting for this reason and code get another try. */
export function retryKindOf(reason: WaitReason, code: number | null): RetryKind {
  if (reason === 'sdk_error' && isTransientSdkCode(code)) return 'automatic';
  return RETRY_KINDS[reason] ?? 'operator';
}

/** The delay before the next automatic try, after `tries` failed ones (1 or more). */
export function backoffDelayMs(backoff: RetryBackoff, tries: number): number {
  return doublingDelayMs(backoff.firstDelayMs, backoff.maxDelayMs, Math.max(tries, 1));
}

export function isWaitReason(text: string): text is WaitReason {
  return (WAIT_REASONS as readonly string[]).includes(text);
}
