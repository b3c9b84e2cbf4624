/**
 * The search function: candidates from the full-text index (every token of the query's plan),
 * narrowed by the filters in SQL, newest first, then decided one by one by the exact match on the
 * stored text (match.ts), so the answer is exactly what a scan of every message would find.
 *
 * Index entry ids follow time (store/dialects/time-ids.ts), so the database reads the entries that
 * hold a query's tokens newest first, and joins only the messages a page looks at: a rare term and
 * a common one both cost about a page. Where the database would walk its id index even for a term
 * few entries hold (PostgreSQL), the search lists those holders' ids and sorts them itself
 * (SORTS_UP_TO). Where the full-text index hands back every holder whatever is asked (MariaDB),
 * a search whose tokens many of the newest entries hold walks the id index and checks each entry's
 * own tokens (WALKS_FROM), and otherwise lists the holders' ids once and sorts them, asking it only
 * for the query's rarer tokens (COMMON_FROM); a page filtered to one conversation may walk that
 * conversation's messages instead (walksConversation). A filter's time range is a range of entry
 * ids too, and when its ends are whole seconds the ids decide it alone (`timeInIds`). A page's
 * reads are sized for what it still lacks (ReadPace).
 *
 * A count is exact up to its cap. When the index alone decides the query (every term one whole
 * index token, nothing excluded: see `indexDecides`), the database counts (where its index builds
 * a token's whole list first, the newest days one by one: COUNT_DAYS); otherwise every
 * candidate is checked on its text, as a page's are. A count that walks reads only the newest
 * COUNT_WALK entries, and says "at least" when there are more.
 *
 * Paging is by keyset: a page ends with an opaque cursor naming the last message it looked at, and
 * the next page starts strictly after it in the order (msgtime, seq, corpid, msgid), newest first.
 * No OFFSET, so a page costs the same wherever it is.
 *
 * Both take the caller's ReadScope and apply it in the candidates' SQL, beside the filters: a message
 * out of scope is never read, matched, counted or named, and a page of hits holds only what the
 * caller may read.
 */
import { type ExpressionBuilder, type Kysely, type RawBuilder, type SelectQueryBuilder, sql, type SqlBool } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { conversationScope, entryScope } from '../access/scope-sql.ts';
import { ValidationError } from '../errors/errors.ts';
import { BoundedMemo } from '../runtime/bounded-memo.ts';
import { readCursor, writeCursor } from '../runtime/opaque-cursor.ts';
import type { ConversationList, IdRange, RequiredToken, SearchJoin, SearchTables, StoreDialect } from '../store/dialects/dialect.ts';
import { entrySecond, exactIdRange, firstIdOf, idRangeOf, LAST_SECOND, secondOfId } from '../store/dialects/time-ids.ts';
import type { Database } from '../store/schema.ts';
import { decodeSeq } from '../store/seq-codec.ts';
import { dayFacet, filterFacets, timeFacetsFitRange } from './facets.ts';
import { type IndexPlan, planIndexQuery } from './index-plan.ts';
import { IndexRepository } from './index-repository.ts';
import { type AnalysedField, analyseFields, matchesAnalysed, matchesQuery } from './match.ts';
import type { SearchFilters, SearchQuery } from './query.ts';
import { searchableTextOfRaw } from './searchable-text.ts';
import { type Snippet, snippetOfAnalysed } from './snippet.ts';

export const SEARCH_LIMITS = Object.freeze({ maxLimit: 1_000, defaultLimit: 50, defaultCountCap: 10_000, countChecks: 1_000 });

/** Candidates read per query to the database: at first a page where the index decides, else twice a page (at least MIN_BATCH), growing to MAX_BATCH. */
const MIN_BATCH = 16;
const MAX_BATCH = 1_000;

/**
 * Up to this many holders by the database's estimate (SearchIndexSql.estimateHolders), a search
 * lists their ids and sorts them itself: about 1.5 µs a holder on PostgreSQL, where its own walk of
 * the id index checks about a million divided by the holders entries for each page of 100.
 */
export const SORTS_UP_TO = 5_000;

/**
 * Where the dialect can check entries on their own tokens (SearchIndexSql.holdsAllByText), a search
 * of one corp first checks its newest WALK_SAMPLE entries in the filters' range, and walks the id
 * index when at least WALKS_FROM of them hold the tokens (MariaDB, a million entries, every page in
 * memory: a walk checks an entry in about 2 µs since the tokens are compared as bytes (a walking
 * count of 10,000 entries, 21 ms; 5 µs before), so a page of 100 candidates at 1% costs about 20 ms;
 * FULLTEXT costs about 3 µs for every holder of each token, 250 ms for the common word's 86,000).
 * The sample costs 2–4 ms on MariaDB, for the page and again for the count (8–11 ms with 1,000
 * entries and the tokens compared as characters: 5–20 ms less a page and its count); at 1% it
 * expects 5 holders, and a term it misjudges lies near 1%, where either way costs within about
 * twice the other (the line was drawn at 5 µs an entry, and not moved since).
 */
const WALK_SAMPLE = 500;
const WALKS_FROM = 0.01;

/**
 * Where the search does not walk, a term's token that at least COMMON_FROM times as many of the
 * sample hold as the query's rarest token, and at least COMMON_SHARE of the sample, is checked on
 * the entries the other tokens find, not asked of the full-text index (RequiredToken.common). The
 * tokens asked go to it rarest first (`sampled`): InnoDB's FULLTEXT takes a boolean query's tokens
 * in the order given, and the first costs the most. Each holder of the first it hands back costs
 * a row read and the check of the common tokens, about 7 µs (measured again once tokens were
 * compared as bytes: the conversation's 5,000 holders read in 31.9 ms, 36.1 with the word checked
 * on each, so the row is most of it); a token after it costs about 0.2 µs a holder, and leaves
 * fewer rows to read: the line of 32 lies about where the two cost the same. MariaDB, a million
 * entries (median of 9): a conversation's count asked as `+conversation +word` (5,000 and 86,000
 * holders, 431 both) took 22 ms, as `+word +conversation` 46, and as `+conversation` with the word
 * checked 41 (27.7 and 36.1 with tokens compared as bytes); `张伟合同` asked as its rarest bigram
 * with the two common ones checked took 2 ms, as all three rarest first 32. A facet is always
 * asked: the sample lies in the filters' range, which its time facet covers whole.
 */
const COMMON_FROM = 32;
const COMMON_SHARE = 0.01;

/**
 * A count that walks reads at most the newest COUNT_WALK entries in the filters' range (about 21 ms
 * on MariaDB, 50 before its tokens were compared as bytes); when there are more, it says "at least"
 * the matches among those.
 */
export const COUNT_WALK = 10_000;

/** The holders' messages a count from a first page's list of them reads at once (countListed). */
const COUNT_READ = 1_000;

/**
 * Where the dialect counts by days (SearchIndexSql.countsByDays), a count the database estimates at
 * COUNT_DAYS_FROM times its cap or more counts its corp's newest COUNT_DAYS days one by one, each
 * with its day's facet among the tokens (PostgreSQL: 10 ms for a day's 7,400 holders of the common
 * word, against 55 ms for its 10,000 newest at once), until the cap; then the rest of the range at
 * once. The first day of 1970 and the last of 2106 are counted without the facet: a message's
 * entry id clamps a time outside them into them, where its facet does not.
 */
const COUNT_DAYS = 4;
const COUNT_DAYS_FROM = 2;
const DAY_SECONDS = 86_400;

/** How a search reads its candidates; tests make its batches small, and make either way drive. */
export interface SearchTuning {
  /** the most estimated holders whose ids the search sorts itself (SORTS_UP_TO) */
  readonly sortsUpTo?: number;
  /** the most candidates a count checks on their text (SEARCH_LIMITS.countChecks): tests make it small */
  readonly countChecks?: number;
  /** the candidates the first batch of a walk reads (else twice a page, MIN_BATCH to MAX_BATCH): tests make batches end anywhere */
  readonly firstBatch?: number;
  /** the share of the newest entries holding the tokens from which the search walks (WALKS_FROM): tests make it 0 (always) or 2 (never) */
  readonly walksFrom?: number;
  /** how many times the rarest token's holders in the sample make a term's token common (COMMON_FROM): tests make it 1 (all but the rarest) */
  readonly commonFrom?: number;
  /** the most entries a walking count reads (COUNT_WALK): tests make it small */
  readonly countWalk?: number;
  /** how many times its cap a count's estimated holders must be for it to count by days (COUNT_DAYS_FROM): tests make it 0 (always) */
  readonly countDaysFrom?: number;
  /** the holders a first page's first slice is sized for where it lists them for a count the text decides (the count's checks and one): tests make it small */
  readonly countSlice?: number;
}

function firstBatchOf(wanted: number, tuning: SearchTuning): number {
  return tuning.firstBatch ?? Math.min(Math.max(wanted, MIN_BATCH), MAX_BATCH);
}

/**
 * How a page's reads are sized: the first as the caller asks, and each next one for what the page
 * still lacks at the share of candidates that matched so far, with half again to spare, but never
 * more than four times the last (nor MAX_BATCH). Until one matches, four times the last. A phrase
 * whose tokens' holders match one time in seven read 808 candidates where about 160 were needed.
 */
export class ReadPace {
  private examined = 0;
  private matched = 0;

  constructor(
    /** the matches the page wants */
    private readonly wanted: number,
    /** the size of the first read */
    readonly first: number,
  ) {}

  /** counts one candidate looked at, and whether it matched */
  note(matched: boolean): void {
    this.examined += 1;
    if (matched) this.matched += 1;
  }

  /**
   * How many more candidates the page likely needs, with half again to spare, when `seen` of them
   * gave the matches so far (infinite until one matched).
   */
  lacking(seen: number = this.examined): number {
    if (this.matched === 0) return Number.POSITIVE_INFINITY;
    return Math.ceil(((Math.max(1, this.wanted - this.matched) * seen) / this.matched) * 1.5);
  }

  /** the size of the read after one of `last`, when `seen` candidates gave the matches so far */
  next(last: number, seen: number = this.examined): number {
    return Math.min(last * 4, MAX_BATCH, Math.max(MIN_BATCH, this.lacking(seen)));
  }
}

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
  /** how many messages match in all, when the caller asked for it with the first page (`count`) */
  readonly count?: MatchCount;
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
function requiredTokens(plan: IndexPlan): RequiredToken[] {
  const tokens = new Map<string, RequiredToken>();
  for (const term of plan.required) {
    for (const chain of term.chains) {
      chain.tokens.forEach((token, k) => {
        const prefix = chain.prefix && k === chain.tokens.length - 1;
        tokens.set(`${prefix ? '*' : ''}${token}`, { token, prefix });
      });
    }
  }
  return [...tokens.values()];
}

/** How a query is asked. */
interface SearchPlan {
  readonly tokens: readonly RequiredToken[];
  /** the entry ids of the filters' time range; exact when `timeInIds` */
  readonly range: IdRange;
  /** the tokens hold a time facet whose days or months the range mostly covers (timeFacetsFitRange) */
  readonly timeInTokens: boolean;
  /** the range is a time filter's that no time facet narrows the index to (SearchIndexSql.holders) */
  readonly rangeNarrows: boolean;
  /** the ids decide the time range alone: no condition on the messages' time is needed */
  readonly timeInIds: boolean;
  /** a page lists the holders' ids and sorts them itself (SORTS_UP_TO), rather than asking the database for them newest first */
  readonly sortsIds: boolean;
  /** how many entries hold the tokens, by the database's estimate (infinite when not asked) */
  readonly holdersEstimate: number;
  /** the index's answer is the exact answer (see indexDecides) */
  readonly decided: boolean;
  /** the entries are walked newest first and checked on their own tokens (WALKS_FROM), not asked of the full-text index */
  readonly walks: boolean;
  /**
   * a page walks the filtered conversation's messages newest first (its index on the messages) and
   * checks each one's entry on its own tokens, as `walks` does the corp's entries: where the dialect
   * can (holdsAllByText) and at least WALKS_FROM of the conversation's newest WALK_SAMPLE entries
   * hold every token. A count does not.
   */
  readonly walksConversation: boolean;
  /**
   * the caller's scope as a condition on the entries `d`; undefined when it sees everything. Asked
   * as a list of conversations where the dialect plans that better (scopeAsList), except when the
   * holders' ids are sorted here: their messages are read by key, and a long list costs more to
   * plan than the condition it replaces.
   */
  readonly inScope: RawBuilder<SqlBool> | undefined;
}

/**
 * True when a message matches the query exactly when its index entry holds every required token:
 * every term is included and decided by one whole token (plan.exact: a CJK character, two CJK
 * characters written together, a whole word or word prefix), and no character folding is asked
 * that the index was not built with. Then the index's answer needs no check on the text.
 */
export function indexDecides(query: SearchQuery, plan: IndexPlan): boolean {
  return query.fold === undefined && plan.excluded.length === 0 && plan.required.every((term) => term.exact);
}

/** The tokens every matching message's entry holds: the query's, and its filters' facets (which narrow the index's answer as the terms do; their SQL conditions still decide). */
function searchTokens(plan: IndexPlan, query: SearchQuery, timeFacets: boolean): RequiredToken[] {
  return [...requiredTokens(plan), ...filterFacets(query.filters, { time: timeFacets })];
}

/**
 * The caller's scope as a condition on the entries `d` (entryScope), read once a search: a page and
 * the count planned after it ask for it again, and a department grant costs reads of the directory
 * and of the participants (where the dialect asks for it as a list, also the list of its
 * conversations: 16 ms warm, 71 ms cold on PostgreSQL, for a viewer's 3,042 of a million
 * messages). Each way of asking (as a list or not) is read once, and a corp's grants once for
 * both. Within PostgreSQL's search session every read sees the same snapshot.
 */
type ScopeSql = (asList: ConversationList | undefined) => Promise<RawBuilder<SqlBool>>;

function scopeSqlOf(db: Kysely<Database>, scope: ReadScope, corpid: string | undefined): ScopeSql {
  // one search asks for two forms at most, and for the corps its scope names
  const grants = new BoundedMemo<string, Promise<RawBuilder<SqlBool>>>(SCOPE_CORPS_REMEMBERED);
  const forms = new BoundedMemo<ConversationList | undefined, Promise<RawBuilder<SqlBool>>>(2);
  const conversationsOf = (c: string) => grants.get(c, () => conversationScope(db, scope, c));
  return (asList) => forms.get(asList, () => entryScope(db, scope, corpid, asList, conversationsOf));
}

/** The corps' grants a search remembers (scopeSqlOf); past them it reads them again. */
const SCOPE_CORPS_REMEMBERED = 64;

async function planSearch(
  db: Kysely<Database>,
  dialect: StoreDialect,
  scope: ReadScope,
  query: SearchQuery,
  tuning: SearchTuning,
  paged: boolean,
  scopeSql: ScopeSql = scopeSqlOf(db, scope, query.filters.corpid),
): Promise<SearchPlan> {
  const plan = planIndexQuery(query);
  const exact = exactIdRange(query.filters.since, query.filters.until);
  // a full-text index that seeks ranges of ids is asked for the time by them alone
  const timeFacets = dialect.search.seeksIdRanges !== true;
  const asked = searchTokens(plan, query, timeFacets);
  const estimate = paged ? dialect.search.estimateHolders : undefined;
  const holdersEstimate = estimate === undefined ? Number.POSITIVE_INFINITY : await estimate.call(dialect.search, db, asked, query.filters.corpid);
  const range = exact ?? idRangeOf(query.filters.since, query.filters.until);
  const timeInTokens = timeFacets && timeFacetsFitRange(query.filters);
  const walksConversation = paged && (await conversationWorthWalking(db, dialect, asked, query.filters, tuning));
  const sample = walksConversation ? { walks: false, tokens: asked } : await sampled(db, dialect, asked, requiredTokens(plan).length, query.filters.corpid, range, tuning);
  const { walks, tokens } = sample;
  const sortsUpTo = tuning.sortsUpTo ?? SORTS_UP_TO;
  // a full-text index that hands back every holder whatever is asked (where entries can be walked
  // instead, holdsAllByText) is asked for their ids once, not once a batch
  const sortsIds = !walks && !walksConversation && (holdersEstimate <= sortsUpTo || (dialect.search.holdsAllByText !== undefined && sortsUpTo >= 0));
  return {
    tokens,
    sortsIds,
    holdersEstimate,
    walks,
    walksConversation,
    range,
    timeInIds: exact !== undefined,
    timeInTokens,
    rangeNarrows: (query.filters.since !== undefined || query.filters.until !== undefined) && !timeInTokens,
    decided: indexDecides(query, plan),
    inScope: scope.kind === 'everything' ? undefined : await scopeSql(sortsIds ? undefined : dialect.search.scopeAsList),
  };
}

/**
 * Where the dialect can walk (SearchIndexSql.holdsAllByText) and a corp is given, the search looks at
 * the corp's newest WALK_SAMPLE entries in `range`: it walks when at least WALKS_FROM of them hold
 * every token (without a corp the id index gives no order to walk in). When it does not, the tokens
 * come back with the common ones among the first `terms` (the query's own, not the facets) marked
 * (COMMON_FROM).
 */
async function sampled(
  db: Kysely<Database>,
  dialect: StoreDialect,
  tokens: readonly RequiredToken[],
  terms: number,
  corpid: string | undefined,
  range: IdRange,
  tuning: SearchTuning,
): Promise<{ walks: boolean; tokens: readonly RequiredToken[] }> {
  const byText = dialect.search.holdsAllByText;
  const share = tuning.walksFrom ?? WALKS_FROM;
  if (byText === undefined || corpid === undefined) return { walks: false, tokens };
  if (share <= 0) return { walks: true, tokens };
  // each token checked once an entry: how many hold them all is counted from those checks
  const sample = await newestOfCorp(
    db,
    dialect,
    corpid,
    range,
    WALK_SAMPLE,
    tokens.map((t) => byText.call(dialect.search, [t])),
  );
  const all = sample.holdingAll;
  const holders = tokens.length > 1 ? sample.holders : [];
  const walks = share <= 1 && sample.entries > 0 && all >= share * sample.entries;
  if (walks || holders.length === 0) return { walks, tokens };
  const rarest = holders.indexOf(Math.min(...holders));
  const from = tuning.commonFrom ?? COMMON_FROM;
  const common = (k: number) => k < terms && k !== rarest && holders[k]! >= COMMON_SHARE * sample.entries && holders[k]! >= from * holders[rarest]!;
  const marked = tokens.map((t, k) => (common(k) ? { ...t, common: true } : t));
  // rarest first (COMMON_FROM); the sort keeps the order of tokens the sample holds alike
  const rarestFirst = marked.map((_, k) => k).sort((a, b) => holders[a]! - holders[b]!);
  return { walks, tokens: rarestFirst.map((k) => marked[k]!) };
}

/**
 * True when the dialect can walk (SearchIndexSql.holdsAllByText), the filters name a corp and a
 * conversation, and at least WALKS_FROM of the conversation's newest WALK_SAMPLE messages in the
 * filters' time have entries holding every token (the conversation's 5,000 of a million and a word a
 * tenth of them hold: FULLTEXT is asked for the conversation's facet, 42 ms on MariaDB, where a walk
 * reads about 500 messages for a page).
 */
async function conversationWorthWalking(db: Kysely<Database>, dialect: StoreDialect, tokens: readonly RequiredToken[], f: SearchFilters, tuning: SearchTuning): Promise<boolean> {
  const byText = dialect.search.holdsAllByText;
  const share = tuning.walksFrom ?? WALKS_FROM;
  if (byText === undefined || f.corpid === undefined || f.conversationKey === undefined || share > 1) return false;
  if (share <= 0) return true;
  const newest = inTime(conversationEntries(db, f.corpid, f.conversationKey), f)
    .select(sql<number>`CASE WHEN ${byText.call(dialect.search, tokens)} THEN 1 ELSE 0 END`.as('holds'))
    .orderBy('m.msgtime', 'desc')
    .limit(WALK_SAMPLE);
  const row = await db
    .selectFrom(newest.as('x'))
    .select((eb) => [eb.fn.countAll<number | string>().as('entries'), eb.fn.sum<number | string | null>('x.holds').as('holders')])
    .executeTakeFirst();
  const entries = Number(row?.entries ?? 0);
  return entries > 0 && Number(row?.holders ?? 0) >= share * entries;
}

/** A conversation's messages `m` joined with their index entries `d`. */
function conversationEntries(db: Kysely<Database>, corpid: string, conversationKey: string) {
  return db
    .selectFrom('messages as m')
    .innerJoin('search_docs as d', (join) => join.onRef('d.corpid', '=', 'm.corpid').onRef('d.msgid', '=', 'm.msgid'))
    .where('m.corpid', '=', corpid)
    .where('m.conversation_key', '=', conversationKey);
}

/** Only the messages `m` within the filters' time. */
function inTime<O>(q: SelectQueryBuilder<SearchTables, 'd' | 'm', O>, f: SearchFilters): SelectQueryBuilder<SearchTables, 'd' | 'm', O> {
  let w = q;
  if (f.since !== undefined) w = w.where('m.msgtime', '>=', f.since);
  if (f.until !== undefined) w = w.where('m.msgtime', '<', f.until);
  return w;
}

/**
 * The part of `range` a walking count reads: from the id of the corp's `most`-th newest entry in it
 * (`whole` false), or all of it when it holds fewer. Ids of one second may be equal (MariaDB's), so
 * a few more than `most` may lie in the part.
 */
async function newestEntries(db: Kysely<Database>, dialect: StoreDialect, corpid: string, range: IdRange, most: number): Promise<{ range: IdRange; whole: boolean }> {
  const newest = await newestOfCorp(db, dialect, corpid, range, most, []);
  if (newest.entries < most || newest.oldest === undefined) return { range, whole: true };
  return { range: { atLeast: Math.max(newest.oldest, range.atLeast ?? Number.NEGATIVE_INFINITY), below: range.below }, whole: false };
}

/**
 * The corp's newest `most` entries in `range`, read from the id index: how many there are, the id of
 * the oldest of them, how many satisfy each of `holds` (conditions on `d`), and how many satisfy
 * them all.
 */
async function newestOfCorp(
  db: Kysely<Database>,
  dialect: StoreDialect,
  corpid: string,
  range: IdRange,
  most: number,
  holds: readonly RawBuilder<SqlBool>[],
): Promise<{ entries: number; oldest: number | undefined; holders: number[]; holdingAll: number }> {
  const held = holds.map((h, k) => sql<number>`CASE WHEN ${h} THEN 1 ELSE 0 END`.as(`h${k}`));
  const newest = withinIds(
    db
      .selectFrom('search_docs as d')
      .select([dialect.search.entryId.as('id'), ...held])
      .where('d.corpid', '=', corpid),
    dialect,
    range,
  )
    .orderBy(dialect.search.entryId, 'desc')
    .limit(most);
  const allHeld = sql.join(
    holds.map((_, k) => sql.ref(`x.h${k}`)),
    sql` * `,
  );
  const row: Record<string, number | string | null> | undefined = await db
    .selectFrom(newest.as('x'))
    .select((eb) => [
      eb.fn.countAll<number | string>().as('entries'),
      eb.fn.min<number | string | null>('x.id').as('oldest'),
      ...holds.map((_, k) => eb.fn.sum<number | string | null>(sql.ref(`x.h${k}`)).as(`h${k}`)),
      // each h is 0 or 1, so their product is 1 where all hold
      ...(holds.length > 0 ? [eb.fn.sum<number | string | null>(allHeld).as('all_held')] : []),
    ])
    .executeTakeFirst();
  const oldest = row?.oldest ?? null;
  const entries = Number(row?.entries ?? 0);
  return {
    entries,
    oldest: oldest === null ? undefined : Number(oldest),
    holders: holds.map((_, k) => Number(row?.[`h${k}`] ?? 0)),
    holdingAll: holds.length > 0 ? Number(row?.all_held ?? 0) : entries,
  };
}

/**
 * True when a filter needs the messages table: the corp and the conversation are in the index
 * entry too (entryFilters), and so is the time when the ids decide it.
 */
function filtersMessages(f: SearchFilters, timeInIds: boolean): boolean {
  return (
    f.fromIds !== undefined || f.msgtypes !== undefined || (!timeInIds && (f.since !== undefined || f.until !== undefined)) || f.external !== undefined || f.hasMedia !== undefined
  );
}

/**
 * The scope and the conversation filter as one condition on the index entries `d`, which name each
 * message's corp and conversation: the database refuses an entry before it reads the message
 * (undefined: neither asked).
 */
function entryFilters(f: SearchFilters, plan: SearchPlan): RawBuilder<SqlBool> | undefined {
  const conditions = [...(plan.inScope === undefined ? [] : [plan.inScope]), ...(f.conversationKey === undefined ? [] : [sql<SqlBool>`d.conversation_key = ${f.conversationKey}`])];
  return conditions.length === 0 ? undefined : sql<SqlBool>`(${sql.join(conditions, sql` AND `)})`;
}

/** The scope and the filters as conditions: on the entries `d` where they name it (entryFilters), else on the messages `m`. */
function withFilters<O>(q: SelectQueryBuilder<SearchTables, 'd' | 'm', O>, f: SearchFilters, plan: SearchPlan): SelectQueryBuilder<SearchTables, 'd' | 'm', O> {
  const onEntries = entryFilters(f, plan);
  let w = onEntries === undefined ? q : q.where(onEntries);
  if (f.fromIds !== undefined) w = w.where('m.from_id', 'in', [...f.fromIds]);
  if (f.msgtypes !== undefined) w = w.where('m.msgtype', 'in', [...f.msgtypes]);
  if (f.since !== undefined && !plan.timeInIds) w = w.where('m.msgtime', '>=', f.since);
  if (f.until !== undefined && !plan.timeInIds) w = w.where('m.msgtime', '<', f.until);
  if (f.external !== undefined) w = w.where('m.is_external', '=', f.external ? 1 : 0);
  if (f.hasMedia !== undefined) {
    const hasMedia = f.hasMedia;
    w = w.where(({ exists, not, selectFrom }) => {
      const media = exists(selectFrom('media as md').select('md.id').whereRef('md.corpid', '=', 'm.corpid').whereRef('md.msgid', '=', 'm.msgid'));
      return hasMedia ? media : not(media);
    });
  }
  return w;
}

/** What a candidate is read with (CandidateRow). */
const CANDIDATE_COLUMNS = ['m.corpid', 'm.msgid', 'm.seq', 'm.msgtime', 'm.from_id', 'm.conversation_key', 'm.roomid', 'm.msgtype', 'm.raw'] as const;

/** Only the messages after `after` in the order of results. */
function pastCursor<O>(q: SelectQueryBuilder<SearchTables, 'd' | 'm', O>, after: OrderKey | undefined): SelectQueryBuilder<SearchTables, 'd' | 'm', O> {
  return after === undefined ? q : q.where((eb) => eb(eb.refTuple('m.msgtime', 'm.seq', 'm.corpid', 'm.msgid'), '<', eb.tuple(after[0], after[1], after[2], after[3])));
}

/** The first entry id a read after `after` need not look at: the filters' upper bound, or the second after the cursor's (undefined: none). */
function firstIdBeyond(range: IdRange, after: OrderKey | undefined): number | undefined {
  const afterCursor = after === undefined ? undefined : firstIdOf(entrySecond(after[0]) + 1);
  if (range.below === undefined || afterCursor === undefined) return range.below ?? afterCursor;
  return Math.min(range.below, afterCursor);
}

/** Examines `rows` newest first, each noted in `pace`; returns the order key of the last. */
function* inResultOrder(rows: CandidateRow[], query: SearchQuery, pace: ReadPace): Generator<Examined, OrderKey | undefined> {
  let last: OrderKey | undefined;
  for (const row of rows.sort(newestFirst)) {
    const seen = examined(row, query);
    pace.note(seen.fields !== undefined);
    last = seen.key;
    yield seen;
  }
  return last;
}

/** The candidates in `range` after `after`, newest first by entry id, with their ids. */
function newestFirstQuery(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, plan: SearchPlan, range: IdRange, after: OrderKey | undefined) {
  const q = withFilters(dialect.search.holders(db, plan.tokens, query.filters.corpid, range, true, plan.walks), query.filters, plan);
  return pastCursor(q, after).select([...CANDIDATE_COLUMNS, dialect.search.entryId.as('entry_id')]);
}

/**
 * How many messages pass the index and the filters, up to `cap`: the count when the index decides.
 * Without filters on message columns the index and its entries alone answer.
 */
async function countInDatabase(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, plan: SearchPlan, cap: number): Promise<number> {
  const f = query.filters;
  if (!filtersMessages(f, plan.timeInIds)) return dialect.search.countHolders(db, plan.tokens, f.corpid, cap, plan.range, plan.walks, plan.rangeNarrows, entryFilters(f, plan));
  const q = withFilters(dialect.search.holders(db, plan.tokens, f.corpid, plan.range, false, plan.walks, plan.rangeNarrows), f, plan)
    .select('m.msgid')
    .limit(cap);
  const row = await db
    .selectFrom(q.as('x'))
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** True when a count of one corp, not walking, whose range no time facet asks for, is estimated at countDaysFrom times its cap or more, where the dialect counts by days. */
async function worthCountingByDays(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, plan: SearchPlan, cap: number, tuning: SearchTuning): Promise<boolean> {
  const estimate = dialect.search.estimateHolders;
  const corpid = query.filters.corpid;
  if (dialect.search.countsByDays !== true || estimate === undefined || corpid === undefined || plan.walks || plan.timeInTokens) return false;
  const holders = Number.isFinite(plan.holdersEstimate) ? plan.holdersEstimate : await estimate.call(dialect.search, db, plan.tokens, corpid);
  return holders >= (tuning.countDaysFrom ?? COUNT_DAYS_FROM) * cap;
}

/** countInDatabase, the corp's newest COUNT_DAYS days in the range one by one, each with its day's facet, then the rest at once. */
async function countByDays(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, plan: SearchPlan, cap: number): Promise<number> {
  const span = await entrySpan(db, dialect, query.filters.corpid, plan.range);
  if (span?.atLeast === undefined || span.below === undefined) return 0;
  const oldest = span.atLeast;
  let below = span.below;
  let counted = 0;
  for (let k = 0; k < COUNT_DAYS && counted < cap && below > oldest; k++) {
    const second = secondOfId(below - 1);
    const dayStart = second - (second % DAY_SECONDS);
    const atLeast = Math.max(oldest, firstIdOf(dayStart));
    const clamped = dayStart === 0 || dayStart + DAY_SECONDS > LAST_SECOND;
    const day = clamped
      ? { ...plan, range: { atLeast, below }, rangeNarrows: true }
      : { ...plan, tokens: [...plan.tokens, dayFacet(dayStart * 1000)], range: { atLeast, below }, timeInTokens: true, rangeNarrows: false };
    counted += await countInDatabase(db, dialect, query, day, cap - counted);
    below = atLeast;
  }
  if (counted < cap && below > oldest) counted += await countInDatabase(db, dialect, query, { ...plan, range: { atLeast: oldest, below } }, cap - counted);
  return counted;
}

/** One candidate looked at, with its fields (cut into units, for the snippet) when it matches exactly. */
interface Examined {
  readonly row: CandidateRow;
  readonly key: OrderKey;
  readonly fields: readonly AnalysedField[] | undefined;
}

function fieldsOf(raw: Uint8Array): string[] {
  return searchableTextOfRaw(raw).map((f) => f.text);
}

function examined(row: CandidateRow, query: SearchQuery): Examined {
  const fields = analyseFields(fieldsOf(row.raw), query.fold);
  return { row, key: [Number(row.msgtime), row.seq, row.corpid, row.msgid], fields: matchesAnalysed(fields, query) ? fields : undefined };
}

/**
 * Every candidate after `after`, in order, each told whether it matches exactly: read in batches
 * of descending entry id, each batch to the end of its last second (ids order a second's entries
 * by when they were indexed, or not at all, not as results are ordered: inKeyedBatches), sorted
 * together; the next batch starts below that second.
 */
async function* examine(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: SearchQuery,
  plan: SearchPlan,
  after: OrderKey | undefined,
  pace: ReadPace,
  listing?: Listing,
): AsyncGenerator<Examined> {
  if (plan.sortsIds) {
    yield* examineSortedIds(db, dialect, query, plan, after, pace, listing);
    return;
  }
  if (plan.walksConversation) {
    yield* examineConversation(db, dialect, query, plan, after, pace);
    return;
  }
  type Row = CandidateRow & { entry_id: number | string };
  const { atLeast } = plan.range;
  yield* inKeyedBatches(query, after, pace, firstIdBeyond(plan.range, after), {
    newest: async (below, limit, at) => (await newestFirstQuery(db, dialect, query, plan, { atLeast, below }, at).limit(limit).execute()) as Row[],
    all: async (second, at) =>
      (await newestFirstQuery(db, dialect, query, plan, { atLeast: Math.max(firstIdOf(second), atLeast ?? 0), below: firstIdOf(second + 1) }, at).execute()) as Row[],
    keyOf: (row) => secondOfId(Number(row.entry_id)),
    below: (second) => firstIdOf(second),
  });
}

/** How inKeyedBatches reads, by a key that orders the rows only in part (an entry's second, a message's millisecond). */
interface KeyedReads<R extends CandidateRow> {
  /** up to `limit` rows after the cursor `after` and below the bound `below` (undefined: none), newest first by key */
  newest(below: number | undefined, limit: number, after: OrderKey | undefined): Promise<R[]>;
  /** every row of the key `key` after the cursor `after` */
  all(key: number, after: OrderKey | undefined): Promise<R[]>;
  keyOf(row: R): number;
  /** the bound of the batch after one whose last key is `key` */
  below(key: number): number;
}

/**
 * Examines candidates read in batches newest first by a key that orders them only in part. Each
 * read asks for one row past the batch: when that row has another key, the batch holds all of its
 * last key's rows; otherwise they are replaced by all of that key's, read apart, sorted together in
 * the order of results. The next batch starts below that key. Batches are sized by `pace`. (The row
 * past the batch spares that second read nearly always: it cost 1 to 3 ms on SQLite, where FTS5
 * finds a second's entries in the middle of long lists slowly.)
 */
async function* inKeyedBatches<R extends CandidateRow>(
  query: SearchQuery,
  after: OrderKey | undefined,
  pace: ReadPace,
  below: number | undefined,
  read: KeyedReads<R>,
): AsyncGenerator<Examined> {
  let batch = pace.first;
  for (;;) {
    let rows = await read.newest(below, batch + 1, after);
    const full = rows.length > batch;
    if (full) {
      const last = read.keyOf(rows[batch - 1]!);
      const goesOn = read.keyOf(rows[batch]!) === last;
      rows = goesOn ? [...rows.slice(0, batch).filter((r) => read.keyOf(r) !== last), ...(await read.all(last, after))] : rows.slice(0, batch);
      below = read.below(last);
    }
    after = (yield* inResultOrder(rows, query, pace)) ?? after;
    if (!full) return;
    batch = pace.next(batch);
  }
}

/**
 * examine() walking the filtered conversation's messages (walksConversation): read in batches of
 * descending msgtime, each entry checked on its own tokens, the messages of a batch's last
 * millisecond replaced by all of that millisecond's (the order of results goes on to seq, corpid
 * and msgid), sorted together; the next batch starts below that millisecond.
 */
async function* examineConversation(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: SearchQuery,
  plan: SearchPlan,
  after: OrderKey | undefined,
  pace: ReadPace,
): AsyncGenerator<Examined> {
  const f = query.filters;
  const holds = dialect.search.holdsAllByText!.call(dialect.search, plan.tokens);
  // the time filter on the messages themselves: the entry ids are not asked
  const candidates = (at: OrderKey | undefined) =>
    pastCursor(withFilters(conversationEntries(db, f.corpid!, f.conversationKey!).where(holds), f, { ...plan, timeInIds: false }), at).select(CANDIDATE_COLUMNS);
  yield* inKeyedBatches(query, after, pace, undefined, {
    newest: async (below, limit, at) =>
      (await (below === undefined ? candidates(at) : candidates(at).where('m.msgtime', '<', below)).orderBy('m.msgtime', 'desc').limit(limit).execute()) as CandidateRow[],
    all: async (msgtime, at) => (await candidates(at).where('m.msgtime', '=', msgtime).execute()) as CandidateRow[],
    keyOf: (row) => Number(row.msgtime),
    below: (msgtime) => msgtime,
  });
}

/**
 * examine() for few holders: their ids listed from the index alone and sorted here, newest first,
 * then their messages read by key a batch at a time (each batch to the end of its last second, as
 * in examine()), with the filters and the cursor applied in SQL. The ids are listed a slice of time
 * at a time (newestSlices), so a page of a term held by thousands of entries visits about a page's
 * worth of their rows, not every one.
 */
async function* examineSortedIds(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: SearchQuery,
  plan: SearchPlan,
  after: OrderKey | undefined,
  pace: ReadPace,
  listing?: Listing,
): AsyncGenerator<Examined> {
  const f = query.filters;
  const range = { atLeast: plan.range.atLeast, below: firstIdBeyond(plan.range, after) };
  // the first slice holds about four times the first batch (a page's worth where the index
  // decides, twice that where the text decides: a phrase whose holders match one time in seven read
  // a second slice, one more pass over the full-text index, 6–7 ms on PostgreSQL). Where the index
  // decides a count of no more holders than its cap, the list of them all is the count
  // (countListed): one slice, and no second pass over the index to count them (PostgreSQL: the
  // rare term's 2,948 holders, a slice in 3 ms and the count in 6, against 7 for them all; the
  // common word's 431 in one conversation, the page and its count 9.9 ms at p50 against 5.5). One
  // slice (so too without an estimate) is the whole range: the corp's span, which only cuts
  // slices, is not asked. Where the text decides a count, the first slice holds about as many
  // holders as the count checks, and the count goes on through it (countListed), asking the index
  // again only for what lies below it (PostgreSQL, the phrase's page and count, median of 31: 39.8
  // and 41.2 ms to 36.8 and 37.5; the slice costs 4.4 ms more, the count 6.5 less)
  const countsList = listing !== undefined && plan.decided && plan.holdersEstimate <= listing.cap;
  const checksList = listing !== undefined && !plan.decided;
  const span = countsList || !Number.isFinite(plan.holdersEstimate) ? range : await entrySpan(db, dialect, f.corpid, range);
  if (span === undefined) {
    listing?.keep([]);
    return;
  }
  let batch = pace.first;
  // the holders read so far: the share of them that matched sizes the next batch and slice
  let found = 0;
  const firstSlice = countsList ? Number.POSITIVE_INFINITY : Math.max(pace.first * 4, checksList ? listing.slice : 0);
  const slices = newestSlices(span, plan.holdersEstimate, firstSlice);
  for (let slice = slices.next(); !slice.done; slice = slices.next({ found, needed: pace.lacking(found) })) {
    // listed for a count, the holders are those the count takes (countListed): within the scope and
    // the conversation. A page alone leaves that to its reads of the messages, which look at a
    // page's worth (bench:api on PostgreSQL, a department viewer's rare term: 30.7–38.3 ms at p50
    // in four runs with every listed holder checked, 25.7–29.4 in four without)
    const holders = await holderIds(db, dialect, plan, f, slice.value, listing !== undefined);
    if (found === 0 && slice.value.below === span.below) {
      const whole = slice.value.atLeast === span.atLeast;
      if (whole || checksList) listing?.keep(holders, whole ? undefined : slice.value.atLeast);
    }
    for (let at = 0; at < holders.length;) {
      let end = Math.min(at + batch, holders.length);
      const second = secondOfId(holders[end - 1]!.entry_id);
      while (end < holders.length && secondOfId(holders[end]!.entry_id) === second) end++;
      const rows = (await holdersMessages(db, f, plan, holders.slice(at, end), after).select(CANDIDATE_COLUMNS).execute()) as CandidateRow[];
      after = (yield* inResultOrder(rows, query, pace)) ?? after;
      found += end - at;
      at = end;
      batch = pace.next(batch, found);
    }
  }
}

/** What a first page asked with its count wants of the holders it lists (examineSortedIds): all of them, or where the text decides, its first slice of them. */
interface Listing {
  /** the count's cap */
  readonly cap: number;
  /** the holders the first slice is sized for, where the text decides: the count's checks and one */
  readonly slice: number;
  /** takes every holder in the filters' range from `lowest` up (undefined: all of them) */
  keep(holders: readonly Holder[], lowest?: number): void;
}

/** An index entry that holds a query's tokens: its message and its id. */
interface Holder {
  readonly corpid: string;
  readonly msgid: string;
  readonly entry_id: number;
}

/** The messages `m` of `holders` (joined with their entries `d` where those are asked) that pass the scope, the filters and the cursor. */
function holdersMessages(db: Kysely<Database>, f: SearchFilters, plan: SearchPlan, holders: readonly Holder[], after: OrderKey | undefined) {
  // by corp, each corp's msgids one list: PostgreSQL plans a list of (corpid, msgid) pairs as
  // as many OR'ed conditions, which took it 7 ms for a batch of 100
  const msgidsOf = new Map<string, string[]>();
  for (const h of holders) {
    const msgids = msgidsOf.get(h.corpid);
    if (msgids === undefined) msgidsOf.set(h.corpid, [h.msgid]);
    else msgids.push(h.msgid);
  }
  const byKey = (table: 'd' | 'm') => (eb: ExpressionBuilder<SearchTables, 'd' | 'm'>) =>
    eb.or([...msgidsOf].map(([corpid, msgids]) => eb.and([eb(`${table}.corpid`, '=', corpid), eb(`${table}.msgid`, 'in', msgids)])));
  // with nothing to ask of the entries (entryFilters: a reader of everything, no conversation),
  // the holders' messages are read by their own key alone, each holder's entry already read in
  // this search's snapshot: a lookup of the entry less for each (PostgreSQL, a phrase's 350
  // candidates of a page: 7.8–8.2 ms to 5.6–6.0 at the median; MariaDB, `张伟合同`'s page and
  // count 27.9–29.0 ms to 24.2–24.9). The query selects and filters on `m` only (withFilters
  // asks nothing of `d` without entryFilters, pastCursor nothing at all), so it is typed as the join
  const inBatch =
    entryFilters(f, plan) === undefined
      ? (db.selectFrom('messages as m') as unknown as SearchJoin).where(byKey('m'))
      : db
          .selectFrom('search_docs as d')
          .innerJoin('messages as m', (join) => join.onRef('m.corpid', '=', 'd.corpid').onRef('m.msgid', '=', 'd.msgid'))
          .where(byKey('d'));
  return pastCursor(withFilters(inBatch, f, plan), after);
}

/**
 * countMatches from the whole list of the holders a first page listed (examineSortedIds, in one
 * slice), without asking the full-text index again: where the index decides and no filter needs
 * the messages, the holders (listed within the scope, the corp and the conversation: holderIds)
 * are the count; otherwise their messages are read by key, newest first, COUNT_READ at a time,
 * with the scope and the filters in SQL, and each one counted. Where the text decides, the count
 * goes on from the page's last candidate as countOnward does, through the list: the holders from
 * that candidate's second on, the messages past it. A list of the newest holders only (from
 * `lowest` up: the page's first slice) is gone through so too, and countOnward then checks what
 * checks are left below it; where the page itself read past it, countOnward goes on past the page.
 */
async function countListed(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: SearchQuery,
  plan: SearchPlan,
  holders: readonly Holder[],
  lowest: number | undefined,
  cap: number,
  checks: number,
  from: OrderKey | undefined,
  seen: PageSeen,
): Promise<MatchCount> {
  const messagesOf = (part: readonly Holder[], after: OrderKey | undefined) => holdersMessages(db, query.filters, plan, part, after);
  if (plan.decided) {
    if (!filtersMessages(query.filters, plan.timeInIds)) return cappedCount(holders.length, cap, false);
    let count = 0;
    for (let at = 0; at < holders.length && count < cap; at += COUNT_READ) {
      const rows = await messagesOf(holders.slice(at, at + COUNT_READ), undefined)
        .select('m.msgid')
        .execute();
      count += rows.length;
    }
    return cappedCount(count, cap, false);
  }
  if (from === undefined || seen.examined > checks) return cappedCount(seen.matched, cap, seen.examined > checks);
  // the page read past the list (its first slice), so the rest lies below the list as well
  if (lowest !== undefined && entrySecond(from[0]) < secondOfId(lowest)) return countOnward(db, dialect, query, plan, from, seen, cap, checks);
  const beyond = firstIdBeyond(plan.range, from);
  const rest = beyond === undefined ? holders : holders.filter((h) => h.entry_id < beyond);
  const tally = new TextTally(seen.matched, checks - seen.examined, cap);
  // the rest begins with the holders of the page's last second, whose candidates up to the page's
  // last one are not read again (pastCursor): the first read takes them on top of what it wants
  const second = entrySecond(from[0]);
  const ofLastSecond = rest.findIndex((h) => secondOfId(h.entry_id) !== second);
  let extra = ofLastSecond < 0 ? rest.length : ofLastSecond;
  for (let at = 0; at < rest.length;) {
    const end = at + Math.min(COUNT_READ, tally.wanted + extra);
    extra = 0;
    const rows = await messagesOf(rest.slice(at, end), from).select('m.raw').execute();
    const decided = tally.check(rows, query);
    if (decided !== undefined) return decided;
    at = end;
  }
  if (lowest === undefined) return tally.done();
  // the list held the newest holders only, and had checks to spare: the rest from below it
  return countOnward(db, dialect, query, plan, from, tally.seen(checks), cap, checks, lowest);
}

/**
 * A count of candidates that match on their text, from the `count` found so far: it checks at most
 * `left` more, and says "at least" when a candidate is left past them, or at the cap.
 */
class TextTally {
  constructor(
    private count: number,
    private left: number,
    private readonly cap: number,
  ) {}

  /** how many candidates to read next: the checks left and one more, to know whether more are left */
  get wanted(): number {
    return this.left + 1;
  }

  /** checks candidates in turn; the count once it is decided (a candidate past the checks, or the cap), else undefined */
  check(rows: readonly { raw: Uint8Array }[], query: SearchQuery): MatchCount | undefined {
    for (const { raw } of rows) {
      if (this.left === 0) return cappedCount(this.count, this.cap, true);
      this.left -= 1;
      if (matchesQuery(fieldsOf(raw), query)) this.count += 1;
      if (this.count >= this.cap) return cappedCount(this.count, this.cap, true);
    }
    return undefined;
  }

  /** what it has checked so far, as a page's candidates are counted (PageSeen) */
  seen(checks: number): PageSeen {
    return { examined: checks - this.left, matched: this.count };
  }

  /** the count when no candidate is left unchecked (`more`: or entries were left unread) */
  done(more = false): MatchCount {
    return cappedCount(this.count, this.cap, more);
  }
}

/** What a first page looked at: its candidates, and the matches among the first `checks` of them. */
interface PageSeen {
  readonly examined: number;
  readonly matched: number;
}

/**
 * countMatches where the text decides, for a first page that read its candidates from the index
 * (examine, not walking): the page looked at the newest `seen.examined` of them, and the count goes
 * on past its last one (`from`: undefined when the page read them all), so none is read twice. The
 * rest are read at once, up to the checks left, in no particular order, as countMatches reads its
 * own; "at least" when more are left. Where the page listed every holder, countListed goes on so
 * through the list instead; where it listed its first slice of them, countListed goes through that
 * and then asks for the rest `below` the slice's lowest id (every candidate above it seen, so no
 * cursor).
 */
async function countOnward(
  db: Kysely<Database>,
  dialect: StoreDialect,
  query: SearchQuery,
  plan: SearchPlan,
  from: OrderKey | undefined,
  seen: PageSeen,
  cap: number,
  checks: number,
  below?: number,
): Promise<MatchCount> {
  const { examined, matched } = seen;
  if (from === undefined || examined > checks) return cappedCount(matched, cap, examined > checks);
  const f = query.filters;
  const range = { atLeast: plan.range.atLeast, below: below ?? firstIdBeyond(plan.range, from) };
  const tally = new TextTally(matched, checks - examined, cap);
  const rest = await pastCursor(
    withFilters(dialect.search.holders(db, plan.tokens, f.corpid, range, false, false, plan.rangeNarrows), f, plan),
    below === undefined ? from : undefined,
  )
    .select('m.raw')
    .limit(tally.wanted)
    .execute();
  return tally.check(rest, query) ?? tally.done();
}

/**
 * The ids of the entries that hold the plan's tokens in `range`, of the filters' corp, newest
 * first; with `onEntries`, only those of the filters' conversation and within the scope
 * (entryFilters).
 */
async function holderIds(db: Kysely<Database>, dialect: StoreDialect, plan: SearchPlan, f: SearchFilters, range: IdRange, onEntries: boolean): Promise<Holder[]> {
  let ids = db
    .selectFrom('search_docs as d')
    .select(['d.corpid', 'd.msgid', dialect.search.entryId.as('entry_id')])
    .where(dialect.search.holdsAll(plan.tokens));
  if (f.corpid !== undefined) ids = ids.where('d.corpid', '=', f.corpid);
  const entries = onEntries ? entryFilters(f, plan) : undefined;
  if (entries !== undefined) ids = ids.where(entries);
  return (await withinIds(ids, dialect, range).execute()).map((h) => ({ ...h, entry_id: Number(h.entry_id) })).sort((a, b) => b.entry_id - a.entry_id);
}

/** Only the index entries `d` whose ids lie in `range`. */
function withinIds<O>(q: SelectQueryBuilder<Database & { d: Database['search_docs'] }, 'd', O>, dialect: StoreDialect, range: IdRange) {
  let w = q;
  if (range.atLeast !== undefined) w = w.where((eb) => eb(dialect.search.entryId, '>=', range.atLeast!));
  if (range.below !== undefined) w = w.where((eb) => eb(dialect.search.entryId, '<', range.below!));
  return w;
}

/**
 * The ids a search of one corp can find in `range`: from its corp's oldest entry there to the end
 * of the second of its newest (undefined when it has none). Without a corp, `range` as it is.
 */
async function entrySpan(db: Kysely<Database>, dialect: StoreDialect, corpid: string | undefined, range: IdRange): Promise<IdRange | undefined> {
  if (corpid === undefined) return range;
  const id = dialect.search.entryId;
  const q = db
    .selectFrom('search_docs as d')
    .select((eb) => [eb.fn.min(id).as('oldest'), eb.fn.max(id).as('newest')])
    .where('d.corpid', '=', corpid);
  const row = await withinIds(q, dialect, range).executeTakeFirst();
  if (row?.newest === null || row?.newest === undefined) return undefined;
  return { atLeast: Number(row.oldest), below: firstIdOf(secondOfId(Number(row.newest)) + 1) };
}

/**
 * `span` cut into ranges of whole seconds, newest first: the first as long as `wanted` of
 * `estimate` holders spread evenly over the span would need, each next one four times longer,
 * or, when the reader says what it found and needs (SliceNeed), as long as the holders it needs
 * take at the density found so far, within once to four times the last.
 * A span with an open end, or an estimate of no more than `wanted` (or none), is one range.
 */
export function* newestSlices(span: IdRange, estimate: number, wanted: number): Generator<IdRange, void, SliceNeed | undefined> {
  if (span.atLeast === undefined || span.below === undefined || !Number.isFinite(estimate) || estimate <= wanted) {
    yield span;
    return;
  }
  const oldest = secondOfId(span.atLeast);
  let seconds = Math.max(1, Math.ceil(((secondOfId(span.below) - oldest) * wanted) / estimate));
  for (let top = secondOfId(span.below), covered = 0; top > oldest;) {
    const bottom = Math.max(oldest, top - seconds);
    const need = yield { atLeast: firstIdOf(bottom), below: firstIdOf(top) };
    covered += top - bottom;
    top = bottom;
    // as long as the holders found so far say `need.needed` more take, at their density, but no
    // shorter than the last slice and no more than four times as long
    const measured = need !== undefined && need.found > 0 && Number.isFinite(need.needed);
    seconds = measured ? Math.min(seconds * 4, Math.max(seconds, Math.ceil((need.needed * covered) / need.found))) : seconds * 4;
  }
}

/** What the reader of newestSlices tells it after a slice. */
export interface SliceNeed {
  /** the holders all the slices so far held */
  readonly found: number;
  /** how many more holders it likely needs (infinite when it cannot tell yet) */
  readonly needed: number;
}

/** Orders candidates as results are, newest first: by (msgtime, seq, corpid, msgid), strings by their UTF-8 bytes as SQL compares them. */
function newestFirst(a: CandidateRow, b: CandidateRow): number {
  const bytes = (x: string, y: string): number => Buffer.compare(Buffer.from(y), Buffer.from(x));
  return Number(b.msgtime) - Number(a.msgtime) || bytes(a.seq, b.seq) || bytes(a.corpid, b.corpid) || bytes(a.msgid, b.msgid);
}

function hitOf(row: CandidateRow, fields: readonly AnalysedField[], query: SearchQuery): SearchHit {
  return {
    corpid: row.corpid,
    msgid: row.msgid,
    seq: decodeSeq(row.seq).toString(),
    msgtime: Number(row.msgtime),
    from: row.from_id,
    conversation: row.conversation_key,
    roomid: row.roomid,
    msgtype: row.msgtype,
    snippet: snippetOfAnalysed(fields, query),
  };
}

/**
 * One page of the messages that match `query` exactly, newest first: up to `limit` (1–1000), after
 * the cursor `after` of the page before. The query's filters apply; a corp filter keeps the search
 * to one corp; only messages `scope` holds are found. With `count` (a cap), the first page also
 * says how many match in all, as countMatches would, each way reading as little again as it can:
 * - where the page listed every holder of the query's tokens at once (examineSortedIds: MariaDB
 *   whenever it does not walk, PostgreSQL when its estimate fits one slice), from that list
 *   (countListed), without asking the full-text index again (a phrase's two common tokens cost
 *   MariaDB's FULLTEXT 45–110 ms); where the text decides and the page listed only the newest
 *   holders (PostgreSQL), through them, and then the index below them;
 * - where the text decides and the page read the index's candidates, past the page's last one
 *   (countOnward; countListed through the list), so none is read twice;
 * - where the page walked the corp's entries, with the page's plan (countPlanned): no second sample;
 * - otherwise as countMatches, planned again.
 */
export async function searchMessages(
  db: Kysely<Database>,
  dialect: StoreDialect,
  scope: ReadScope,
  query: SearchQuery,
  options: { limit?: number; after?: string; count?: number; tuning?: SearchTuning } = {},
): Promise<SearchPage> {
  return inSearchSession(db, dialect, (session) => searchPage(session, dialect, scope, query, options));
}

/** searchMessages on the connection its statements run on. */
async function searchPage(
  db: Kysely<Database>,
  dialect: StoreDialect,
  scope: ReadScope,
  query: SearchQuery,
  options: { limit?: number; after?: string; count?: number; tuning?: SearchTuning },
): Promise<SearchPage> {
  const limit = checkLimit(options.limit ?? SEARCH_LIMITS.defaultLimit);
  const hits: SearchHit[] = [];
  let next: OrderKey | undefined;
  let exhausted = true;
  const after = options.after === undefined ? undefined : decodeCursor(options.after);
  const tuning = options.tuning ?? {};
  const scopeSql = scopeSqlOf(db, scope, query.filters.corpid);
  const plan = await planSearch(db, dialect, scope, query, tuning, true, scopeSql);
  let listed: { holders: readonly Holder[]; lowest: number | undefined } | undefined;
  const checks = tuning.countChecks ?? SEARCH_LIMITS.countChecks;
  const listing =
    options.count !== undefined && after === undefined
      ? { cap: options.count, slice: tuning.countSlice ?? checks + 1, keep: (holders: readonly Holder[], lowest?: number) => (listed = { holders, lowest }) }
      : undefined;
  const seen = { examined: 0, matched: 0 } satisfies PageSeen;
  // where the index decides, every candidate matches: the first read asks for the page (and the
  // one past it), not twice the page (bench:search on SQLite, the common word in one conversation:
  // 101 messages read for a page of 50)
  const pace = new ReadPace(limit, firstBatchOf(plan.decided ? limit : limit * 2, tuning));
  for await (const { row, key, fields } of examine(db, dialect, query, plan, after, pace, listing)) {
    seen.examined += 1;
    if (fields === undefined) continue;
    if (seen.examined <= checks) seen.matched += 1;
    hits.push(hitOf(row, fields, query));
    if (hits.length === limit) {
      next = key;
      exhausted = false;
      break;
    }
  }
  let count: MatchCount | undefined;
  if (options.count !== undefined) {
    const cap = options.count;
    if (listed !== undefined) count = await countListed(db, dialect, query, plan, listed.holders, listed.lowest, cap, checks, exhausted ? undefined : next, seen);
    else if (after === undefined && !plan.decided && !plan.walks && !plan.walksConversation)
      count = await countOnward(db, dialect, query, plan, exhausted ? undefined : next, seen, cap, checks);
    // a walk's plan is the count's too (no estimate, no conversation walked, no ids sorted): its sample is not taken again
    else if (plan.walks) count = await countPlanned(db, dialect, query, plan, cap, tuning);
    // the count's tokens are the page's: its estimate of their holders is the page's, not asked
    // again, nor what the scope reads (scopeSqlOf)
    else
      count = await countPlanned(
        db,
        dialect,
        query,
        { ...(await planSearch(db, dialect, scope, query, tuning, false, scopeSql)), holdersEstimate: plan.holdersEstimate },
        cap,
        tuning,
      );
  }
  // a limited caller hears of the backlog of the corps its scope names only, not of the others
  const named = scope.kind === 'everything' ? undefined : new Set([...scope.corps, ...scope.departments.map((d) => d.corpid), ...scope.conversations.map((c) => c.corpid)]);
  const backlog = (await new IndexRepository(db, dialect).backlog(query.filters.corpid)).filter((b) => named === undefined || named.has(b.corpid));
  return { hits, next: exhausted ? undefined : writeCursor(next!), notIndexed: backlog.reduce((sum, b) => sum + b.pending, 0), ...(count === undefined ? {} : { count }) };
}

/**
 * How many messages match `query` exactly, up to `cap`: past it, counting stops and says there are
 * at least that many. The database counts when the index decides the query; otherwise candidates
 * are checked on their text, in one read of up to SEARCH_LIMITS.countChecks of them in no
 * particular order (about 20 µs each on SQLite: reading the message, parsing it, matching its
 * text), and when there are more, the count says "at least" the matches found among those. A count
 * that walks the index (WALKS_FROM) reads only the newest COUNT_WALK entries in the filters' range,
 * and says "at least" when there are more. A page never stops so: it reads until it is full.
 */
export async function countMatches(
  db: Kysely<Database>,
  dialect: StoreDialect,
  scope: ReadScope,
  query: SearchQuery,
  cap: number = SEARCH_LIMITS.defaultCountCap,
  tuning: SearchTuning = {},
): Promise<MatchCount> {
  return inSearchSession(db, dialect, async (session) => countPlanned(session, dialect, query, await planSearch(session, dialect, scope, query, tuning, false), cap, tuning));
}

/** Runs `work` as the dialect runs a search's statements (SearchIndexSql.searchSession); inside a caller's transaction, on it as it is. */
function inSearchSession<T>(db: Kysely<Database>, dialect: StoreDialect, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const search = dialect.search;
  return search.searchSession === undefined || db.isTransaction ? work(db) : search.searchSession(db, work);
}

/** countMatches as `planned`: a count's own plan, or a page's that walks the corp's entries (which a count's would be too). */
async function countPlanned(db: Kysely<Database>, dialect: StoreDialect, query: SearchQuery, planned: SearchPlan, cap: number, tuning: SearchTuning): Promise<MatchCount> {
  const walked =
    planned.walks && query.filters.corpid !== undefined
      ? await newestEntries(db, dialect, query.filters.corpid, planned.range, tuning.countWalk ?? COUNT_WALK)
      : { range: planned.range, whole: true };
  const plan = { ...planned, range: walked.range };
  if (plan.decided) {
    const count = (await worthCountingByDays(db, dialect, query, plan, cap, tuning))
      ? await countByDays(db, dialect, query, plan, cap)
      : await countInDatabase(db, dialect, query, plan, cap);
    return cappedCount(count, cap, !walked.whole);
  }
  const tally = new TextTally(0, tuning.countChecks ?? SEARCH_LIMITS.countChecks, cap);
  let candidates = withFilters(dialect.search.holders(db, plan.tokens, query.filters.corpid, plan.range, false, plan.walks, plan.rangeNarrows), query.filters, plan).select(
    'm.raw',
  );
  if (Number.isFinite(tally.wanted)) candidates = candidates.limit(tally.wanted);
  return tally.check(await candidates.execute(), query) ?? tally.done(!walked.whole);
}

/** `count` matches, "at least" when `more` are left unchecked; at the cap (or past it), the cap and "at least". */
function cappedCount(count: number, cap: number, more: boolean): MatchCount {
  return count >= cap ? { count: cap, atLeast: true } : { count, atLeast: more };
}

function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > SEARCH_LIMITS.maxLimit) {
    throw new ValidationError('SEARCH_LIMIT_INVALID', `the page size ${limit} is not a whole number from 1 to ${SEARCH_LIMITS.maxLimit}`);
  }
  return limit;
}

/** A cursor is the order key of the page's last message (runtime/opaque-cursor.ts): opaque to callers. */
function decodeCursor(cursor: string): OrderKey {
  const invalid = () => new ValidationError('SEARCH_CURSOR_INVALID', 'the cursor is not one a search gave; start again without --after (or `after`)');
  const key = readCursor(cursor);
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
