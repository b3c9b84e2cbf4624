/**
 * Index entry ids that follow time, for a full-text index that hands back its entries in id order
 * (SQLite's FTS5 walks a token's entries by rowid, either way). An id is the second of the
 * message's msgtime times SLOTS_A_SECOND, plus a slot that tells apart the messages of one second:
 * a search reads the entries newest first straight from the index, and stops when a page is full,
 * instead of reading every entry that holds a term and sorting them by time.
 *
 * Within one second the slots follow the order the messages were indexed in, not the order of
 * results; the search sorts each second's entries itself (search-messages.ts). Every id stays
 * below 2^53, so JavaScript numbers hold it exactly: seconds up to 2^32 (the year 2106; a msgtime
 * outside [0, 2^32 s) counts as the nearest end), 2^21 slots each.
 */
import { ArchiveError } from '../../errors/errors.ts';

export const SLOTS_A_SECOND = 2 ** 21;
export const LAST_SECOND = 2 ** 32 - 1;

/** The second an entry of a message sent at `msgtime` (milliseconds) is filed under. */
export function entrySecond(msgtime: number): number {
  const second = Math.floor(Number(msgtime) / 1000);
  return Number.isFinite(second) ? Math.min(Math.max(second, 0), LAST_SECOND) : 0;
}

/**
 * The id of a second's first slot, for a dialect that files every entry of a second under it
 * (PostgreSQL, MariaDB: their `ord`, which need not be unique).
 */
export function secondIdOf(msgtime: number): number {
  return firstIdOf(entrySecond(msgtime));
}

/** The first id of a second: every entry of that second has an id from it to the next second's first. */
export function firstIdOf(second: number): number {
  return second * SLOTS_A_SECOND;
}

/** The second an entry id is filed under. */
export function secondOfId(id: number): number {
  return Math.floor(id / SLOTS_A_SECOND);
}

/** The id for the next entry of `second`, after the highest one it holds (`highest`, undefined when none). */
export function nextIdOf(second: number, highest: number | undefined): number {
  const id = highest === undefined ? firstIdOf(second) : highest + 1;
  if (id >= firstIdOf(second + 1)) {
    throw new ArchiveError('SEARCH_SECOND_FULL', `the search index holds ${SLOTS_A_SECOND} messages of the second ${second} already; no more fit`);
  }
  return id;
}

/** Ids of entries whose msgtime lies in [since, until): a range that holds all of them (and maybe a few more of the edge seconds). */
export function idRangeOf(since: number | undefined, until: number | undefined): { atLeast?: number; below?: number } {
  return {
    ...(since === undefined ? {} : { atLeast: firstIdOf(entrySecond(since)) }),
    ...(until === undefined ? {} : { below: firstIdOf(entrySecond(until - 1) + 1) }),
  };
}

/**
 * The ids of entries whose msgtime lies in [since, until) and no others, when the range's given
 * ends are whole seconds within the ids' seconds (after 1970, up to 2^32 s): then an entry's id
 * decides the range alone. Undefined otherwise.
 */
export function exactIdRange(since: number | undefined, until: number | undefined): { atLeast?: number; below?: number } | undefined {
  const whole = (t: number | undefined): boolean => t === undefined || (Number.isSafeInteger(t) && t % 1000 === 0 && t > 0 && t / 1000 <= LAST_SECOND);
  if (!whole(since) || !whole(until)) return undefined;
  return {
    ...(since === undefined ? {} : { atLeast: firstIdOf(since / 1000) }),
    ...(until === undefined ? {} : { below: firstIdOf(until / 1000) }),
  };
}
