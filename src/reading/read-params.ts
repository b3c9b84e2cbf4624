/** Checks of the parameters every read function takes from outside (ids, page sizes). */
import { ValidationError } from '../errors/errors.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;

/** A page size: 1…MAX_LIMIT, DEFAULT_LIMIT when absent. */
export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new ValidationError('READ_LIMIT_INVALID', `limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(limit).slice(0, 20)}`);
  return limit;
}

/** An id (corpid, msgid, userid, conversation key) of at most `max` characters, without control characters. */
export function checkId(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new ValidationError('READ_PARAMS_INVALID', `${what} must be 1 to ${max} characters without control characters`);
  }
  return value;
}
