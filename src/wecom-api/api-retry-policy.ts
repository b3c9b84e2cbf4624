/**
 * What the WeCom API client does after a failed call, as data: which of WeCom's global error codes
 * mean "fetch the token again", which are retried with backoff and how often. Tests pass a policy
 * with short delays; production uses DEFAULT_API_RETRY_POLICY.
 */
export interface BackoffRule {
  /** retries after the first attempt */
  retries: number;
  baseMs: number;
  maxMs: number;
}

export interface ApiRetryPolicy {
  /** the token was refused: fetch a new one (one refresh at a time) and repeat the call once */
  readonly tokenCodes: ReadonlySet<number>;
  /** WeCom codes retried with exponential backoff */
  readonly backoff: Readonly<Record<number, BackoffRule>>;
  /** unreachable, timed out, not JSON */
  readonly network: BackoffRule;
}

export const DEFAULT_API_RETRY_POLICY: ApiRetryPolicy = Object.freeze({
  tokenCodes: new Set([40014, 42001]),
  backoff: Object.freeze({
    // -1 means WeCom is busy; WeCom asks for at most 3 retries
    [-1]: { retries: 3, baseMs: 1_000, maxMs: 8_000 },
    // frequency limit: the ban lasts as long as the limit window (about a minute)
    45009: { retries: 3, baseMs: 15_000, maxMs: 60_000 },
    45033: { retries: 3, baseMs: 2_000, maxMs: 15_000 },
  }),
  network: { retries: 2, baseMs: 1_000, maxMs: 10_000 },
});
