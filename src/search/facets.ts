/**
 * Facets: what a message is (its conversation, its sender, its day and month), kept in its index
 * entry beside the tokens of its text, so that the full-text index narrows a filtered search the
 * way it narrows by terms. Without them, a common word in one conversation made the database list
 * every holder of the word in the corp (a tenth of it) before it could look at the conversation.
 *
 * A facet never decides a filter: the SQL condition on the message still does (search-messages.ts).
 * A facet only lets the index leave out entries the condition would refuse, so a filter whose
 * facets are missing or too many to ask for (a range of years) simply asks for none.
 */
import { BoundedMemo } from '../runtime/bounded-memo.ts';
import type { RequiredToken } from '../store/dialects/dialect.ts';
import type { SearchFilters } from './query.ts';
import { encodeFacet } from './token-codec.ts';

const DAY_MS = 86_400_000;
/** A range of up to this many days is asked for by its days; a longer one by its months. */
export const MAX_DAY_FACETS = 62;
/** A range of more months than this asks for no time facet: the condition in SQL narrows alone. */
export const MAX_MONTH_FACETS = 36;
/** A filter on more senders than this (a common name) asks for no sender facet. */
export const MAX_SENDER_FACETS = 20;

/** What of a stored message its facets are made from. */
export interface Faceted {
  readonly conversation_key: string;
  readonly from_id: string;
  readonly msgtime: number;
}

function dayDigits(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}

/** The token of the UTC day holding `ms`: the one an entry holds (messageFacets) and a filter or a count by days asks for. */
function dayToken(ms: number): string {
  return encodeFacet('day', dayDigits(ms));
}

function monthDigits(ms: number): string {
  return dayDigits(ms).slice(0, 6);
}

/**
 * Facet tokens made before, for the index stage: a conversation's, a sender's and a day's recur
 * from message to message, and each costs a SHA-256 or a date to make (about 3 µs a message of
 * the stage's 70).
 */
const MAX_REMEMBERED = 4_096;
const remembered = {
  conversation: new BoundedMemo<string, string>(MAX_REMEMBERED),
  sender: new BoundedMemo<string, string>(MAX_REMEMBERED),
  day: new BoundedMemo<number, readonly [string, string]>(MAX_REMEMBERED),
};

/** The facet tokens of a message: its conversation, its sender, its UTC day and month. */
export function messageFacets(m: Faceted): string[] {
  const msgtime = Number(m.msgtime);
  const [day, month] = remembered.day.get(Math.floor(msgtime / DAY_MS), () => [dayToken(msgtime), encodeFacet('month', monthDigits(msgtime))] as const);
  return [
    remembered.conversation.get(m.conversation_key, (key) => encodeFacet('conversation', key)),
    remembered.sender.get(m.from_id, (id) => encodeFacet('sender', id)),
    day,
    month,
  ];
}

/** The facet of the UTC day holding `ms`, which every message of that day holds. */
export function dayFacet(ms: number): RequiredToken {
  return { token: dayToken(ms), prefix: false };
}

/** The months from the one holding `first` to the one holding `last`, as UTC month digits. */
function monthsBetween(first: number, last: number): string[] {
  const months: string[] = [];
  const d = new Date(Date.UTC(new Date(first).getUTCFullYear(), new Date(first).getUTCMonth(), 1));
  while (d.getTime() <= last && months.length <= MAX_MONTH_FACETS) {
    months.push(monthDigits(d.getTime()));
    d.setUTCMonth(d.getUTCMonth() + 1);
  }
  return months;
}

/**
 * The time facet a message in [since, until) holds one of (its days, or its months), and the time
 * those days or months span (ms); none for an open or very long range.
 */
function timeFacet(since: number | undefined, until: number | undefined): { facet: RequiredToken; span: number } | undefined {
  if (since === undefined || until === undefined || until <= since) return undefined;
  const last = until - 1;
  const firstDay = Math.floor(since / DAY_MS);
  const lastDay = Math.floor(last / DAY_MS);
  if (lastDay - firstDay + 1 <= MAX_DAY_FACETS) {
    const days: string[] = [];
    for (let day = firstDay; day <= lastDay; day++) days.push(dayToken(day * DAY_MS));
    return { facet: { anyOf: days }, span: days.length * DAY_MS };
  }
  const months = monthsBetween(since, last);
  if (months.length > MAX_MONTH_FACETS) return undefined;
  const [first, end] = [new Date(since), new Date(last)];
  const span = Date.UTC(end.getUTCFullYear(), end.getUTCMonth() + 1, 1) - Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), 1);
  return { facet: { anyOf: months.map((m) => encodeFacet('month', m)) }, span };
}

/**
 * True when the filters' time range is asked of the index by its days or months (filterFacets
 * holds a time facet) and covers at least half of the time those days or months span: the holders
 * of the facet are then mostly in the range. A shorter range (an hour of a day) is better found by
 * the entries' ids.
 */
export function timeFacetsFitRange(f: SearchFilters): boolean {
  const { since, until } = f;
  if (since === undefined || until === undefined) return false;
  const time = timeFacet(since, until);
  return time !== undefined && (until - since) * 2 >= time.span;
}

/**
 * The facets every message that passes the filters holds: the conversation's, one of the senders',
 * one of the range's days (or months; `time: false` leaves the range to the entries' ids). An
 * empty range or an empty sender list gives nothing to ask; the SQL condition then finds no message.
 */
export function filterFacets(f: SearchFilters, options: { time: boolean } = { time: true }): RequiredToken[] {
  const facets: RequiredToken[] = [];
  if (f.conversationKey !== undefined) facets.push({ token: encodeFacet('conversation', f.conversationKey), prefix: false });
  if (f.fromIds !== undefined && f.fromIds.length > 0 && f.fromIds.length <= MAX_SENDER_FACETS) facets.push({ anyOf: f.fromIds.map((id) => encodeFacet('sender', id)) });
  const time = options.time ? timeFacet(f.since, f.until) : undefined;
  if (time !== undefined) facets.push(time.facet);
  return facets;
}
