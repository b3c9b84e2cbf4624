/**
 * The search function: candidates from the full-text index (every token of the query's plan),
 * narrowed by the filters in SQL, newest first, then decided one by one by the exact match on the
 * stored text (match.ts), so the answer is exactly what a scan of every message would find.
 *
 * Paging is by keyset: a page ends with an opaque cursor naming the last message it looked at, and
 * the next page starts strictly after it in the order (msgtime, seq, corpid, msgid), newest first.
 * No OFFSET, so a page costs the same wherever it is.
 */
import type { Kysely } from 'kysely';
import { ValidationError } from '../errors/errors.ts';
import type { RequiredToken, StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';
import { decodeSeq } from '../store/seq-codec.ts';
import { planIndexQuery } from './index-plan.ts';
import { IndexRepository } from './index-repository.ts';
import { matchesQuery } from './match.ts';
import type { SearchQuery } from './query.ts';
import { searchableTextOfRaw } from './searchable-text.ts';
import { type Snippet, snippetFor } from './snippet.ts';

export const SEARCH_LIMITS = Object.freeze({ maxLimit: 1_000, defaultLimit: 50, defaultCountCap: 10_000 });

/** Candidates read per query to the database: at first twice a page (at least MIN_BATCH), growing to MAX_BATCH. */
const MIN_BATCH = 16;
const MAX_BATCH = 1_000;

export interface SearchHit {
  readonly corpid: string;
  readonly msgid: string;
  /** decimal: seq is an unsigned 64-bit number */
  readonly seq: string;
  readonly msgtime: number;
  readonly from: string;
  /**
   * The sender's name in the directory (a member's, else a customer's), null when it has none.
   * Absent until sender-names.ts has looked the page's senders up, in one query per page.
   */
  readonly fromName?: string | null;
  readonly conversation: string;
  readonly roomid: string;
  readonly msgtype: string;
  readonly snippet: Snippet | undefined;
}

export interface SearchPage {
  readonly hits: readonly SearchHit[];
  /** the cursor of the next page; absent when no message is left */
  readonly next: string | undefined;
  /** stored messages not indexed yet (of the filtered corp, or all): a search does not see them */
  readonly notIndexed: number;
}

export interface MatchCount {
  readonly count: number;
  /** true when counting stopped at the cap: there are at least `count` */
  readonly atLeast: boolean;
}

/** Where a message stands in the order of results. */
type OrderKey = readonly [msgtime: number, seq: string, corpid: string, msgid: string];

interface CandidateRow {
  corpid: string;
  msgid: string;
  seq: string;
  msgtime: number;
  from_id: string;
  conversation_key: string;
  roomid: string;
  msgtype: string;
  raw: Uint8Array;
}

/** The distinct tokens every matching message holds (the plan's required chains, flattened). */
function requiredTokens(query: SearchQuery): RequiredToken[] {
  const tokens = new Map<string, RequiredToken>();
  for (const term of planIndexQuery(query).required) {
    for (const chain of term.chains) {
      chain.tokens.forEach((token, k) => {
        const prefix = chain.prefix && k === chain.tokens.length - 1;
        tokens.set(`${prefix ? '*' : ''}${token}`, { token, prefix });
      });
    }
  }
  return [...tokens.values()];
}

function candidateQuery(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, tokens: readonly RequiredToken[], after: OrderKey | undefined, batch: number) {
  const f = query.filters;
  let q = db
    .selectFrom('search_docs as d')
    .innerJoin('messages as m', (join) => join.onRef('m.corpid', '=', 'd.corpid').onRef('m.msgid', '=', 'd.msgid'))
    .select(['m.corpid', 'm.msgid', 'm.seq', 'm.msgtime', 'm.from_id', 'm.conversation_key', 'm.roomid', 'm.msgtype', 'm.raw'])
    .where(dialect.search.holdsAll(tokens));
  if (f.corpid !== undefined) q = q.where('d.corpid', '=', f.corpid).where('m.corpid', '=', f.corpid);
  if (f.conversationKey !== undefined) q = q.where('m.conversation_key', '=', f.conversationKey);
  if (f.fromIds !== undefined) q = q.where('m.from_id', 'in', [...f.fromIds]);
  if (f.msgtypes !== undefined) q = q.where('m.msgtype', 'in', [...f.msgtypes]);
  if (f.since !== undefined) q = q.where('m.msgtime', '>=', f.since);
  if (f.until !== undefined) q = q.where('m.msgtime', '<', f.until);
  if (f.external !== undefined) q = q.where('m.is_external', '=', f.external ? 1 : 0);
  if (f.hasMedia !== undefined) {
    const hasMedia = f.hasMedia;
    q = q.where(({ exists, not, selectFrom }) => {
      const media = exists(selectFrom('media as md').select('md.id').whereRef('md.corpid', '=', 'm.corpid').whereRef('md.msgid', '=', 'm.msgid'));
      return hasMedia ? media : not(media);
    });
  }
  if (after !== undefined) q = q.where((eb) => eb(eb.refTuple('m.msgtime', 'm.seq', 'm.corpid', 'm.msgid'), '<', eb.tuple(after[0], after[1], after[2], after[3])));
  return q.orderBy('m.msgtime', 'desc').orderBy('m.seq', 'desc').orderBy('m.corpid', 'desc').orderBy('m.msgid', 'desc').limit(batch);
}

/** One candidate looked at, with its fields when it matches exactly. */
interface Examined {
  readonly row: CandidateRow;
  readonly key: OrderKey;
  readonly fields: readonly string[] | undefined;
}

/** Every candidate after `after`, in order, each told whether it matches exactly. */
async function* examine(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, after: OrderKey | undefined, firstBatch: number): AsyncGenerator<Examined> {
  const tokens = requiredTokens(query);
  let batch = Math.min(Math.max(firstBatch, MIN_BATCH), MAX_BATCH);
  for (;;) {
    const rows = (await candidateQuery(db, dialect, query, tokens, after, batch).execute()) as CandidateRow[];
    for (const row of rows) {
      after = [Number(row.msgtime), row.seq, row.corpid, row.msgid];
      const fields = searchableTextOfRaw(row.raw).map((f) => f.text);
      yield { row, key: after, fields: matchesQuery(fields, query) ? fields : undefined };
    }
    if (rows.length < batch) return;
    batch = Math.min(batch * 4, MAX_BATCH);
  }
}

function hitOf(row: CandidateRow, fields: readonly string[], query: SearchQuery): SearchHit {
  return {
    corpid: row.corpid,
    msgid: row.msgid,
    seq: decodeSeq(row.seq).toString(),
    msgtime: Number(row.msgtime),
    from: row.from_id,
    conversation: row.conversation_key,
    roomid: row.roomid,
    msgtype: row.msgtype,
    snippet: snippetFor(fields, query),
  };
}

/**
 * One page of the messages that match `query` exactly, newest first: up to `limit` (1–1000), after
 * the cursor `after` of the page before. The query's filters apply; a corp filter keeps the search
 * to one corp.
 */
export async function searchMessages(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, options: { limit?: number; after?: string } = {}): Promise<SearchPage> {
  const limit = checkLimit(options.limit ?? SEARCH_LIMITS.defaultLimit);
  const hits: SearchHit[] = [];
  let next: OrderKey | undefined;
  let exhausted = true;
  for await (const { row, key, fields } of examine(db, dialect, query, options.after === undefined ? undefined : decodeCursor(options.after), limit * 2)) {
    if (fields === undefined) continue;
    hits.push(hitOf(row, fields, query));
    if (hits.length === limit) {
      next = key;
      exhausted = false;
      break;
    }
  }
  const backlog = await new IndexRepository(db, dialect).backlog(query.filters.corpid);
  return { hits, next: exhausted ? undefined : encodeCursor(next!), notIndexed: backlog.reduce((sum, b) => sum + b.pending, 0) };
}

/**
 * How many messages match `query` exactly. Counting looks at each candidate; past `cap` matches it
 * stops and says there are at least that many.
 */
export async function countMatches(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, cap: number = SEARCH_LIMITS.defaultCountCap): Promise<MatchCount> {
  let count = 0;
  for await (const { fields } of examine(db, dialect, query, undefined, MAX_BATCH)) {
    if (fields === undefined) continue;
    count += 1;
    if (count >= cap) return { count, atLeast: true };
  }
  return { count, atLeast: false };
}

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > SEARCH_LIMITS.maxLimit) {
    throw new ValidationError('SEARCH_LIMIT_INVALID', `the page size ${limit} is not a whole number from 1 to ${SEARCH_LIMITS.maxLimit}`);
  }
  return limit;
}

/** A cursor is the order key of the page's last message, as base64url JSON: opaque to callers. */
function encodeCursor(key: OrderKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): OrderKey {
  const invalid = () => new ValidationError('SEARCH_CURSOR_INVALID', 'the cursor is not one a search gave; start again without --after (or `after`)');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const valid =
    Array.isArray(key) &&
    key.length === 4 &&
    Number.isSafeInteger(key[0]) &&
    typeof key[1] === 'string' &&
    /^\d{20}$/.test(key[1]) &&
    typeof key[2] === 'string' &&
    typeof key[3] === 'string' &&
    key[2].length <= 64 &&
    key[3].length <= 191;
  if (!valid) throw invalid();
  return key as unknown as OrderKey;
}
