/** How a failed read is shown: out of scope and missing alike, a declined reason, or anything else. */
import { ApiError } from '../api/client.ts';
import { ReasonDeclined } from '../api/reason.ts';

export type Failure = 'gone' | 'reason' | 'other';

export function failureOf(err: unknown): Failure {
  if (err instanceof ReasonDeclined) return 'reason';
  // 403 and 404 look the same: a reader must not learn that something out of scope exists
  if (err instanceof ApiError && (err.status === 403 || err.status === 404)) return 'gone';
  return 'other';
}

/** The API's message, when there is one worth showing (never for gone, which says nothing more). */
export function failureDetail(err: unknown): string {
  return err instanceof ApiError ? err.message : err instanceof Error ? err.message : '';
}
