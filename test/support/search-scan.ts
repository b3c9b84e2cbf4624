/**
 * The brute-force side of search tests: every stored message of a corp with its searchable text,
 * the answer a scan of them gives to a query, every page a search gives, and random queries taken
 * from the stored text (so that most find something).
 */
import { expect } from 'vitest';
import type { Kysely } from 'kysely';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import { matchesQuery } from '../../src/search/match.ts';
import type { SearchQuery } from '../../src/search/query.ts';
import { searchMessages, type SearchTuning } from '../../src/search/search-messages.ts';
import { searchableTextOfRaw } from '../../src/search/searchable-text.ts';
import { textUnits } from '../../src/search/tokenize.ts';
import type { Rng } from '../../src/simulator/core/prng.ts';
import type { StoreDialect } from '../../src/store/dialects/dialect.ts';
import type { Database } from '../../src/store/schema.ts';

/** A count that checks every candidate on its text, as exact as the index's answer and the match: what tests of both compare. */
export const EVERY_CANDIDATE: SearchTuning = { countChecks: Number.POSITIVE_INFINITY };

export interface StoredMessage {
  msgid: string;
  seq: string;
  msgtime: number;
  from_id: string;
  conversation_key: string;
  msgtype: string;
  external: boolean;
  media: boolean;
  fields: string[];
  /** the normalized text of every unit, for a quick test that cannot drop a match (see mayMatch) */
  unitText: string;
}

/** Every stored message of `corpid` as a scan reads it: columns, whether it has media, searchable text. */
export async function storedMessages(db: Kysely<Database>, corpid: string): Promise<StoredMessage[]> {
  const withMedia = new Set((await db.selectFrom('media').select('msgid').where('corpid', '=', corpid).execute()).map((r) => r.msgid));
  const rows = await db
    .selectFrom('messages')
    .select(['msgid', 'seq', 'msgtime', 'from_id', 'conversation_key', 'msgtype', 'is_external', 'raw'])
    .where('corpid', '=', corpid)
    .execute();
  return rows.map(({ raw, is_external, ...row }) => {
    const fields = searchableTextOfRaw(raw).map((f) => f.text);
    return {
      ...row,
      msgtime: Number(row.msgtime),
      external: Number(is_external) === 1,
      media: withMedia.has(row.msgid),
      fields,
      unitText: fields.flatMap((f) => textUnits(f).map((u) => u.text)).join('\u0000'),
    };
  });
}

/** The messages an index entry is due for: those with some searchable unit. */
export function withText(corpus: readonly StoredMessage[]): StoredMessage[] {
  return corpus.filter((m) => m.unitText !== '');
}

/**
 * False only for a message that cannot match: one lacking the text of some unit of a term to
 * include. It spares the scan most calls of matchesQuery, which alone decides; were it wrong, the
 * scan would miss a message the search finds, and the comparison would fail.
 */
function mayMatch(m: StoredMessage, query: SearchQuery): boolean {
  return query.terms.every((t) => t.exclude || t.units.every((u) => m.unitText.includes(u.text)));
}

/** What a scan of every stored message finds, newest first as the search orders it. */
export function bruteForce(corpus: readonly StoredMessage[], query: SearchQuery): string[] {
  const f = query.filters;
  return corpus
    .filter(
      (m) =>
        (f.conversationKey === undefined || m.conversation_key === f.conversationKey) &&
        (f.fromIds === undefined || f.fromIds.includes(m.from_id)) &&
        (f.msgtypes === undefined || f.msgtypes.includes(m.msgtype)) &&
        (f.since === undefined || m.msgtime >= f.since) &&
        (f.until === undefined || m.msgtime < f.until) &&
        (f.external === undefined || m.external === f.external) &&
        (f.hasMedia === undefined || m.media === f.hasMedia) &&
        mayMatch(m, query) &&
        matchesQuery(m.fields, query),
    )
    .sort((a, b) => b.msgtime - a.msgtime || (a.seq < b.seq ? 1 : a.seq > b.seq ? -1 : 0) || (a.msgid < b.msgid ? 1 : -1))
    .map((m) => m.msgid);
}

/** Every page of a search, through the cursor, as one list of msgids; each page says nothing is left to index. */
export async function allPages(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, limit: number): Promise<string[]> {
  const found: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 2_000; page++) {
    const result = await searchMessages(db, dialect, EVERYTHING, query, { limit, ...(after ? { after } : {}) });
    expect(result.hits.length).toBeLessThanOrEqual(limit);
    expect(result.notIndexed).toBe(0);
    found.push(...result.hits.map((h) => h.msgid));
    if (!result.next) return found;
    after = result.next;
  }
  throw new Error('more than 2000 pages');
}

/** A run of 1–4 CJK characters, a word (maybe cut to a prefix*), or a two-unit phrase, from a message's own text. */
export function randomTerm(rng: Rng, corpus: readonly StoredMessage[], want: 'cjk' | 'word' | 'any'): string {
  for (;;) {
    const message = rng.pick(corpus);
    if (message.fields.length === 0) continue;
    const units = textUnits(rng.pick(message.fields));
    const starts = units.map((u, at) => ({ u, at })).filter(({ u }) => want === 'any' || u.kind === want);
    if (starts.length === 0) continue;
    const { u: unit, at } = rng.pick(starts);
    if (unit.kind === 'cjk') {
      const length = rng.range(1, 4);
      let end = at + 1;
      while (end < units.length && end - at < length && units[end]!.kind === 'cjk' && units[end]!.joined) end++;
      return units
        .slice(at, end)
        .map((u) => u.text)
        .join('');
    }
    const roll = rng.float();
    if (roll < 0.2 && unit.text.length > 1) return `${unit.text.slice(0, rng.range(1, unit.text.length - 1))}*`;
    if (roll < 0.4 && at + 1 < units.length) return `"${unit.text} ${units[at + 1]!.text}"`;
    return rng.chance(0.3) ? unit.text.toUpperCase() : unit.text;
  }
}

/** One or two terms from the corpus, now and then with a term to exclude. */
export function randomQuery(rng: Rng, corpus: readonly StoredMessage[]): string {
  const terms = Array.from({ length: rng.range(1, 2) }, () => randomTerm(rng, corpus, rng.pick(['cjk', 'cjk', 'word', 'any'])));
  if (rng.chance(0.25)) terms.push(`-${randomTerm(rng, corpus, 'any').replace(/^"|"$/g, '')}`);
  return terms.join(' ');
}
