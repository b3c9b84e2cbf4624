import { ValidationError } from '../errors/errors.ts';

/**
 * WeCom's seq is an unsigned 64-bit integer (docs/design.md rule 4). No JS number can hold it and the three
 * databases disagree on unsigned 64-bit types (SQLite has none; MySQL compares a BIGINT with a
 * string parameter as a double). So every dialect stores it as the same fixed-width text: 20 decimal
 * digits, zero-padded. Lexicographic order is numeric order, comparisons never go through floating
 * point, and the value round-trips exactly everywhere.
 */
export const SEQ_MAX = (1n << 64n) - 1n;
const WIDTH = 20;

export function encodeSeq(seq: bigint): string {
  if (seq < 0n || seq > SEQ_MAX) throw new ValidationError('SEQ_OUT_OF_RANGE', `seq ${seq} is outside the unsigned 64-bit range`);
  return seq.toString().padStart(WIDTH, '0');
}

export function decodeSeq(stored: unknown): bigint {
  if (typeof stored !== 'string' || !/^\d{1,20}$/.test(stored.trim())) {
    throw new ValidationError('SEQ_CORRUPT', `stored seq ${JSON.stringify(stored)} is not a 20-digit decimal`);
  }
  return BigInt(stored.trim());
}

/** Parses a seq given by a user or by WeCom as decimal digits (never via a JS number). */
export function parseSeq(text: string, what = 'seq'): bigint {
  if (!/^\d{1,20}$/.test(text)) throw new ValidationError('SEQ_INVALID', `${what} must be an unsigned integer, got ${JSON.stringify(text.slice(0, 40))}`);
  const seq = BigInt(text);
  if (seq > SEQ_MAX) throw new ValidationError('SEQ_OUT_OF_RANGE', `${what} ${text} is larger than 2^64-1`);
  return seq;
}
