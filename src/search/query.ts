/**
 * The search query language:
 *   terms separated by spaces must all match          发票 抬头
 *   "a phrase" must appear as written (one field)     "release notes"
 *   -term / -"a phrase" must not appear               报价 -草案
 *   word* finds words starting with word (Latin etc.) deploy*
 * Everything else is text. A term without spaces is matched like a phrase of its units (so
 * `e-mail` finds "e mail" and "e-mail"); punctuation and emoji separate units and are not searched.
 * A quote with no partner is text. `*` is an operator only right after the last word of a term
 * that is not quoted. Filters (corp, conversation, sender, type, time, internal/external, media)
 * are structured options, not query syntax.
 */
import { ValidationError } from '../errors/errors.ts';
import { textUnits, type CharacterFold, type TextUnit } from './tokenize.ts';

/** One unit of a term: a normalized word or CJK character (see tokenize.ts). */
export interface QueryUnit extends Pick<TextUnit, 'kind' | 'text' | 'joined'> {
  /** a word that matches every word starting with it (only the last unit of a term) */
  readonly prefix: boolean;
}

export interface QueryTerm {
  /** the units must appear in this order, within one field, with nothing but separators between */
  readonly units: readonly QueryUnit[];
  readonly exclude: boolean;
}

export interface SearchFilters {
  readonly corpid?: string;
  readonly conversationKey?: string;
  /** the senders' userids or external_userids: a message from any of them (a name can stand for several people) */
  readonly fromIds?: readonly string[];
  readonly msgtypes?: readonly string[];
  /** milliseconds since the epoch, inclusive */
  readonly since?: number;
  /** milliseconds since the epoch, exclusive */
  readonly until?: number;
  /** true: only external messages; false: only internal ones */
  readonly external?: boolean;
  /** true: only messages with media; false: only messages without */
  readonly hasMedia?: boolean;
}

export interface SearchQuery {
  readonly terms: readonly QueryTerm[];
  readonly filters: SearchFilters;
  /** the extra character folding of the terms, which fields must get too (tokenize.ts) */
  readonly fold?: CharacterFold;
}

export const QUERY_LIMITS = Object.freeze({ chars: 1_000, terms: 32, unitsPerTerm: 200 });

export const SEARCH_FILTER_LIMITS = Object.freeze({ fromIds: 200 });

interface RawTerm {
  readonly text: string;
  readonly exclude: boolean;
  readonly quoted: boolean;
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/u.test(ch);
}

/** Splits the query into raw terms by spaces, quotes and leading minus signs. */
function splitTerms(query: string): RawTerm[] {
  const terms: RawTerm[] = [];
  let i = 0;
  while (i < query.length) {
    if (isSpace(query[i])) {
      i++;
      continue;
    }
    const exclude = query[i] === '-' && i + 1 < query.length && !isSpace(query[i + 1]);
    if (exclude) i++;
    const close = query[i] === '"' ? query.indexOf('"', i + 1) : -1;
    if (close > 0) {
      terms.push({ text: query.slice(i + 1, close), exclude, quoted: true });
      i = close + 1;
      continue;
    }
    let end = i;
    while (end < query.length && !isSpace(query[end])) end++;
    terms.push({ text: query.slice(i, end), exclude, quoted: false });
    i = end;
  }
  return terms;
}

function termOf(raw: RawTerm, fold: CharacterFold | undefined): QueryTerm | undefined {
  const starred = !raw.quoted && raw.text.endsWith('*');
  const text = starred ? raw.text.slice(0, -1) : raw.text;
  const units = textUnits(text, fold);
  const last = units[units.length - 1];
  if (!last) return undefined;
  if (units.length > QUERY_LIMITS.unitsPerTerm) {
    throw new ValidationError(
      'SEARCH_TERM_TOO_LONG',
      `the search term "${raw.text.slice(0, 40)}…" has more than ${QUERY_LIMITS.unitsPerTerm} words or characters; search for a shorter part of it`,
    );
  }
  // a prefix star belongs right after a word: `deploy*`, not `中文*` or `deploy!*`
  const prefixOnLast = starred && last.kind === 'word' && last.end === text.length;
  return {
    exclude: raw.exclude,
    units: units.map((u) => ({ kind: u.kind, text: u.text, joined: u.joined, prefix: prefixOnLast && u === last })),
  };
}

/**
 * Parses a user's query into terms (see the module comment) and checks the filters. Refuses, with
 * a ValidationError saying what to change, a query with nothing searchable in it, one with only
 * exclusions, and one over QUERY_LIMITS.
 */
export function parseSearchQuery(query: string, filters: unknown = {}, options: { fold?: CharacterFold } = {}): SearchQuery {
  if (typeof query !== 'string') throw new ValidationError('SEARCH_QUERY_INVALID', 'the search query must be text');
  if (query.length > QUERY_LIMITS.chars) {
    throw new ValidationError('SEARCH_QUERY_TOO_LONG', `the search query has ${query.length} characters; the most is ${QUERY_LIMITS.chars}`);
  }
  // full-width quotes, minus signs, stars and spaces act as their ASCII forms
  const terms = splitTerms(query.normalize('NFKC'))
    .map((raw) => termOf(raw, options.fold))
    .filter((t): t is QueryTerm => t !== undefined);
  if (terms.length === 0) {
    throw new ValidationError('SEARCH_QUERY_EMPTY', 'the search query has no letters, digits or CJK characters; punctuation and emoji are not searchable');
  }
  if (terms.length > QUERY_LIMITS.terms) {
    throw new ValidationError('SEARCH_QUERY_TOO_LONG', `the search query has ${terms.length} terms; the most is ${QUERY_LIMITS.terms}`);
  }
  if (terms.every((t) => t.exclude)) {
    throw new ValidationError('SEARCH_QUERY_ONLY_EXCLUDES', 'the search query only excludes (-term); add at least one term to look for');
  }
  return { terms, filters: validateSearchFilters(filters), ...(options.fold ? { fold: options.fold } : {}) };
}

type FilterCheck = (value: unknown) => string | undefined;

const nonEmptyText: FilterCheck = (v) => (typeof v === 'string' && v.length > 0 && v.length <= 400 ? undefined : 'must be text of 1 to 400 characters');
const flag: FilterCheck = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const epochMs: FilterCheck = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : 'must be milliseconds since the epoch (an integer >= 0)');
const idList: FilterCheck = (v) =>
  Array.isArray(v) && v.length > 0 && v.length <= SEARCH_FILTER_LIMITS.fromIds && v.every((id) => nonEmptyText(id) === undefined)
    ? undefined
    : `must be a list of 1 to ${SEARCH_FILTER_LIMITS.fromIds} ids, each text of 1 to 400 characters`;
const msgtypeList: FilterCheck = (v) =>
  Array.isArray(v) && v.length > 0 && v.length <= 64 && v.every((t) => typeof t === 'string' && /^[a-z_]{1,64}$/.test(t))
    ? undefined
    : 'must be a list of 1 to 64 msgtypes (text, file, chatrecord, …)';

const FILTER_CHECKS: Readonly<Record<keyof SearchFilters, FilterCheck>> = {
  corpid: nonEmptyText,
  conversationKey: nonEmptyText,
  fromIds: idList,
  msgtypes: msgtypeList,
  since: epochMs,
  until: epochMs,
  external: flag,
  hasMedia: flag,
};

/** Checks search filters given as an object; the error names every wrong one at once. */
export function validateSearchFilters(input: unknown): SearchFilters {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ValidationError('SEARCH_FILTERS_INVALID', 'search filters must be an object');
  }
  const given = input as Record<string, unknown>;
  const problems: string[] = [];
  const filters: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(given)) {
    if (value === undefined) continue;
    const check = Object.hasOwn(FILTER_CHECKS, name) ? FILTER_CHECKS[name as keyof SearchFilters] : undefined;
    const problem = check ? check(value) : `is not a filter (known: ${Object.keys(FILTER_CHECKS).join(', ')})`;
    if (problem) problems.push(`${name} ${problem}`);
    else filters[name] = Array.isArray(value) ? Object.freeze([...value]) : value;
  }
  const { since, until } = filters as SearchFilters;
  if (since !== undefined && until !== undefined && since >= until) problems.push('since must be before until');
  if (problems.length > 0) throw new ValidationError('SEARCH_FILTERS_INVALID', `invalid search filters: ${problems.join('; ')}`);
  return Object.freeze(filters) as SearchFilters;
}
