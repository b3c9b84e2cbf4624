/**
 * The search's reading of the index on every dialect: entries newest first by their ids, which
 * follow time, asked of the database newest first or (PostgreSQL, few holders) sorted by the search
 * itself, in batches (the default, and batches of a few candidates that end inside a second and
 * inside a page), must give exactly what a scan of every stored message gives, page by page
 * and in order, with counts exact up to their cap (counted by the database when the index decides
 * the query, on the text otherwise). Time ranges end on whole seconds (the ids decide them) or
 * not (the messages' times do). Two corps share the index, so a plan that loses the corp filter
 * shows. Replay a failure with SEARCH_PLAN_SEED.
 */
import { Kysely, sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { EVERYTHING, type ReadScope } from '../../src/access/read-scope.ts';
import { DEFAULT_INDEX_TIMING, IndexStage } from '../../src/search/index-stage.ts';
import { createLogger } from '../../src/app/logger.ts';
import { matchesQuery } from '../../src/search/match.ts';
import { parseSearchQuery, type SearchQuery } from '../../src/search/query.ts';
import { countMatches, indexDecides, newestSlices, ReadPace, searchMessages, type SearchTuning } from '../../src/search/search-messages.ts';
import { messageTokens } from '../../src/search/index-docs.ts';
import { planIndexQuery, tokenSetAdmits } from '../../src/search/index-plan.ts';
import { encodeFacet } from '../../src/search/token-codec.ts';
import type { Rng } from '../../src/simulator/core/prng.ts';
import type { IdRange } from '../../src/store/dialects/dialect.ts';
import { firstIdOf, idRangeOf, secondIdOf, secondOfId } from '../../src/store/dialects/time-ids.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { Database } from '../../src/store/schema.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const MESSAGES = 400;
/** messages of one second: an index whose ids follow time (SQLite) files them by when they were indexed, not in the order of results */
const SAME_SECOND = 60;
/** messages of one conversation in one millisecond */
const SAME_MILLISECOND = 30;
/** days after the second day of 1970 with messages too */
const LATER_DAYS = 5;
const QUERIES = 100;
const CORPS = ['wwplan1', 'wwplan2'];
const CJK = [...'合同报价单草案会议'];
const WORDS = ['deploy', 'invoice', 'Review', 'v2'];
// `walk`: PostgreSQL reads the holders newest first from the database, not sorting their ids itself
// as it does for few, and MariaDB walks the id index checking each entry's tokens; `batches`: the
// first batch of candidates holds three, so batches end inside a second and within a page, and
// MariaDB asks its FULLTEXT index (by default it chooses by the share of the newest entries holding
// the tokens); `common`: MariaDB asks FULLTEXT for the rarest of the query's tokens (in its sample)
// and checks the others on each entry it finds; `days`: PostgreSQL counts day by day, newest first
const PLANS: Record<string, SearchTuning> = {
  default: {},
  walk: { sortsUpTo: -1, walksFrom: 0 },
  batches: { firstBatch: 3, walksFrom: 2 },
  walkBatches: { sortsUpTo: -1, walksFrom: 0, firstBatch: 3 },
  common: { walksFrom: 2, commonFrom: 1, firstBatch: 3 },
  days: { countDaysFrom: 0 },
};

interface Stored {
  corpid: string;
  msgid: string;
  seq: bigint;
  msgtime: number;
  conversation: string;
  text: string;
}

function randomText(rng: Rng): string {
  let text = '';
  for (let i = rng.range(1, 10); i > 0; i--) text += rng.chance(0.7) ? rng.pick(CJK) : ` ${rng.pick(WORDS)} `;
  return text;
}

function randomQuery(rng: Rng): string {
  const term = (): string => {
    const roll = rng.float();
    if (roll < 0.55) return Array.from({ length: rng.range(1, rng.chance(0.8) ? 2 : 3) }, () => rng.pick(CJK)).join('');
    if (roll < 0.75) return rng.pick(WORDS);
    if (roll < 0.85) return `${rng.pick(WORDS).slice(0, 2)}*`;
    return `"${rng.pick(CJK)}${rng.pick(CJK)} ${rng.pick(WORDS)}"`;
  };
  const terms = Array.from({ length: rng.range(1, 2) }, term);
  if (rng.chance(0.2)) terms.push(`-${rng.pick(CJK)}`);
  return terms.join(' ');
}

/** The messages that pass the filters and `holds` (the match, or the index's tokens), newest first. */
function scan(corpus: readonly Stored[], query: SearchQuery, holds: (m: Stored) => boolean): Stored[] {
  const f = query.filters;
  return corpus
    .filter(
      (m) =>
        m.corpid === f.corpid &&
        (f.conversationKey === undefined || m.conversation === f.conversationKey) &&
        (f.since === undefined || m.msgtime >= f.since) &&
        (f.until === undefined || m.msgtime < f.until) &&
        holds(m),
    )
    .sort((a, b) => b.msgtime - a.msgtime || (a.seq < b.seq ? 1 : a.seq > b.seq ? -1 : 0) || (a.msgid < b.msgid ? 1 : -1));
}

function bruteForce(corpus: readonly Stored[], query: SearchQuery): string[] {
  return scan(corpus, query, (m) => matchesQuery([m.text], query)).map((m) => m.msgid);
}

/** The messages whose index tokens admit the query's required terms, in the order of results: the index is asked for those only, the text decides the excluded ones. */
function candidatesOf(corpus: readonly Stored[], query: SearchQuery): Stored[] {
  const asked = { required: planIndexQuery(query).required, excluded: [] };
  return scan(corpus, query, (m) => tokenSetAdmits(new Set(messageTokens(Buffer.from(rawOf(m)))), asked));
}

/**
 * A count that checks at most `checks` candidates (in no particular order) on their text: exact
 * when the index decides alone or the candidates are no more than that; otherwise "at least" as
 * many as match among some `checks` of them, which a scan bounds: the candidates are the messages
 * whose index tokens admit the query's required terms.
 */
function expectBudgetCount(corpus: readonly Stored[], query: SearchQuery, checks: number, counted: { count: number; atLeast: boolean }, what: string): boolean {
  const plan = planIndexQuery(query);
  const matching = bruteForce(corpus, query).length;
  const candidates = candidatesOf(corpus, query).length;
  if (indexDecides(query, plan) || candidates <= checks) {
    expect(counted, what).toEqual({ count: matching, atLeast: false });
    return false;
  }
  expect(counted.atLeast, what).toBe(true);
  expect(counted.count, what).toBeLessThanOrEqual(Math.min(matching, checks));
  expect(counted.count, what).toBeGreaterThanOrEqual(matching - (candidates - checks));
  return true;
}

/**
 * A count that walks at most `entries` index entries (on a dialect that walks): exact when the
 * corp has fewer in the filters' id range; otherwise "at least" exactly the matches from the second
 * of its `entries`-th newest entry there on. Elsewhere, exact.
 */
function expectWalkedCount(store: Store, corpus: readonly Stored[], query: SearchQuery, entries: number, counted: { count: number; atLeast: boolean }, what: string): boolean {
  const matching = bruteForce(corpus, query);
  const f = query.filters;
  const range = idRangeOf(f.since, f.until);
  const ids = corpus
    .filter((m) => m.corpid === f.corpid)
    .map((m) => secondIdOf(m.msgtime))
    .filter((id) => (range.atLeast === undefined || id >= range.atLeast) && (range.below === undefined || id < range.below))
    .sort((a, b) => b - a);
  if (store.dialect.search.holdsAllByText === undefined || ids.length < entries) {
    expect(counted, what).toEqual({ count: matching.length, atLeast: false });
    return false;
  }
  const from = ids[entries - 1]!;
  const timeOf = new Map(corpus.filter((m) => m.corpid === f.corpid).map((m) => [m.msgid, m.msgtime]));
  expect(counted, what).toEqual({ count: matching.filter((msgid) => secondIdOf(timeOf.get(msgid)!) >= from).length, atLeast: true });
  return true;
}

function rawOf(m: Stored): string {
  return JSON.stringify({ msgtype: 'text', text: { content: m.text } });
}

async function allPages(store: Store, query: SearchQuery, tuning: SearchTuning, scope: ReadScope = EVERYTHING): Promise<string[]> {
  const found: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 200; page++) {
    const result = await searchMessages(store.db, store.dialect, scope, query, { limit: 7, tuning, ...(after ? { after } : {}) });
    found.push(...result.hits.map((h) => h.msgid));
    if (!result.next) return found;
    after = result.next;
  }
  throw new Error('more than 200 pages');
}

describe('newestSlices', () => {
  it('cuts a span into whole seconds, newest first, each four times the last, covering it once', () => {
    const span = { atLeast: firstIdOf(100), below: firstIdOf(200) };
    // 50 of 1,000 holders spread over 100 seconds: 5 seconds first
    const seconds = [...newestSlices(span, 1_000, 50)].map((s) => [secondOfId(s.atLeast!), secondOfId(s.below!)]);
    expect(seconds).toEqual([
      [195, 200],
      [175, 195],
      [100, 175],
    ]);
    // no fewer than one second, and one slice when the estimate asks for no more than wanted
    expect([...newestSlices(span, 1e9, 1)][0]).toEqual({ atLeast: firstIdOf(199), below: firstIdOf(200) });
    expect([...newestSlices(span, 40, 50)]).toEqual([span]);
    expect([...newestSlices(span, Number.POSITIVE_INFINITY, 50)]).toEqual([span]);
    // an open end: one slice
    expect([...newestSlices({ below: firstIdOf(5) }, 1_000, 50)]).toEqual([{ below: firstIdOf(5) }]);
  });

  it('sizes each next slice for the holders the reader still needs, at the density it found, within once to four times the last', () => {
    const slices = newestSlices({ atLeast: firstIdOf(100), below: firstIdOf(200) }, 1_000, 50);
    const seconds = (r: IteratorResult<IdRange, void>) => (r.done ? undefined : [secondOfId(r.value.atLeast!), secondOfId(r.value.below!)]);
    expect(seconds(slices.next())).toEqual([195, 200]);
    // 50 holders in 5 seconds, 60 more needed: 6 seconds
    expect(seconds(slices.next({ found: 50, needed: 60 }))).toEqual([189, 195]);
    // none matched yet (infinitely many needed): four times the last
    expect(seconds(slices.next({ found: 50, needed: Number.POSITIVE_INFINITY }))).toEqual([165, 189]);
    // one more needed: never shorter than the last
    expect(seconds(slices.next({ found: 100, needed: 1 }))).toEqual([141, 165]);
    // thousands needed: four times the last at most, and never past the span
    expect(seconds(slices.next({ found: 100, needed: 1e6 }))).toEqual([100, 141]);
    expect(slices.next({ found: 100, needed: 1e6 }).done).toBe(true);
  });
});

describe('ReadPace', () => {
  it('reads four times the last until a candidate matches, then what the page lacks at the rate seen, with half again to spare', () => {
    const pace = new ReadPace(50, 100);
    for (let i = 0; i < 100; i++) pace.note(false);
    expect(pace.lacking()).toBe(Number.POSITIVE_INFINITY);
    expect(pace.next(100)).toBe(400);
    // 14 of 100 matched, 36 lacking: about 257 more at that rate, 386 with the spare
    for (let i = 0; i < 14; i++) pace.note(true);
    expect(pace.lacking(100)).toBe(386);
    expect(pace.next(100, 100)).toBe(386);
    // never more than four times the last, nor MAX_BATCH (1,000); never fewer than MIN_BATCH (16)
    expect(pace.next(50, 100)).toBe(200);
    expect(pace.next(1_000, 10_000)).toBe(1_000);
    for (let i = 0; i < 36; i++) pace.note(true);
    expect(pace.next(100)).toBe(16);
  });
});

describeEachDialect('search plans', ({ open }) => {
  let store: Store;
  const corpus: Stored[] = [];

  beforeAll(async () => {
    store = await open();
    const rng = seededRng('search-plan-corpus');
    for (let n = 0; n < MESSAGES; n++) {
      const corpid = CORPS[n % 2]!;
      // several messages share a time, so the order's tie-breaks are exercised too; the first
      // SAME_SECOND share one second (some of them one millisecond), more than a page's batch
      const msgtime = n < SAME_SECOND ? 1_000 + 100 * (n % 7) : 1_000 * Math.floor(n / 3);
      corpus.push({ corpid, msgid: `m${n}`, seq: BigInt(n + 1), msgtime, conversation: `room:r${n % 5}`, text: randomText(rng) });
    }
    // one conversation's messages all of one millisecond: a walk of the conversation (MariaDB) reads
    // them in batches that end inside it
    for (let k = 0; k < SAME_MILLISECOND; k++) {
      corpus.push({ corpid: CORPS[0]!, msgid: `t${k}`, seq: BigInt(MESSAGES + k + 1), msgtime: 2_500, conversation: 'room:r5', text: randomText(rng) });
    }
    // messages of later days, one every seven hours: a count by days (PostgreSQL) asks each day's facet
    for (let k = 0; k < LATER_DAYS * 24; k += 7) {
      corpus.push({
        corpid: CORPS[(k / 7) % 2]!,
        msgid: `d${k}`,
        seq: BigInt(MESSAGES + SAME_MILLISECOND + k + 1),
        msgtime: (2 * 86_400 + k * 3_600) * 1_000,
        conversation: 'room:r6',
        text: randomText(rng),
      });
    }
    const rows = corpus.map((m) => ({
      ...messageRow({ corpid: m.corpid, msgid: m.msgid, seq: m.seq, msgtime: m.msgtime, raw: Buffer.from(rawOf(m)) }),
      conversation_key: m.conversation,
    }));
    // the conversations a limited reader's scope names
    const conversations = CORPS.flatMap((corpid) =>
      [0, 1, 2, 3, 4].map((r) => ({
        corpid,
        conversation_key: `room:r${r}`,
        kind: 'group' as const,
        roomid: `r${r}`,
        message_count: MESSAGES / 10,
        first_msgtime: 0,
        last_msgtime: 0,
        last_seq: '0',
        last_msgid: '',
      })),
    );
    await store.db.transaction().execute(async (trx) => {
      await store.dialect.insertIgnoring(trx, 'messages', rows, ['corpid', 'msgid']);
      await store.dialect.insertIgnoring(trx, 'conversations', conversations, ['corpid', 'conversation_key']);
      await store.dialect.insertIgnoring(
        trx,
        'search_pending',
        rows.map((m) => ({ corpid: m.corpid, msgtime: m.msgtime, msgid: m.msgid, queued_at: 1 })),
        ['corpid', 'msgtime', 'msgid'],
      );
    });
    const stage = new IndexStage({ db: store.db, dialect: store.dialect, health: store.health, log: createLogger('silent') }, { batch: DEFAULT_INDEX_TIMING.batch });
    expect(await stage.drain(new AbortController().signal)).toBe(corpus.length);
    // the planner's statistics, as a running database keeps them: PostgreSQL's estimate of a
    // token's holders decides how it reads them, in one slice of time or several
    if (store.dialect.name === 'postgres') await sql`ANALYZE search_docs`.execute(store.db);
    if (store.dialect.name === 'mysql') await sql`ANALYZE TABLE search_docs`.execute(store.db);
  }, 120_000);

  it('counts with a first page from the holders the page listed, without asking the full-text index again, where the page lists them all', async () => {
    // every holder listed at once: PostgreSQL sorts them itself in one slice, MariaDB does not walk
    const lists: SearchTuning = { sortsUpTo: 1e9, walksFrom: 2, firstBatch: 1_000 };
    const listing = store.dialect.search.estimateHolders !== undefined || store.dialect.search.holdsAllByText !== undefined;
    const asked: string[] = [];
    const db = new Kysely<Database>({ dialect: store.dialect.createKyselyDialect(), log: (e) => void asked.push(e.query.sql) });
    const askedIndex = () => asked.filter((q) => !q.startsWith('EXPLAIN') && /AGAINST|@@|search_fts MATCH/.test(q)).length;
    try {
      // decided by the index; not (a phrase, an exclusion); with a filter on the messages; in a scope
      const scope: ReadScope = { kind: 'limited', corps: [], departments: [], conversations: [{ corpid: CORPS[0]!, conversation: 'room:r1' }] };
      // `decided`: the list is the count, so no message is read but the page's (one read: its
      // first batch holds every holder), the conversation and the scope already applied to the list
      for (const [text, filters, reader, decided] of [
        ['合同', {}, EVERYTHING, true],
        ['"同 deploy"', {}, EVERYTHING, false],
        ['合 -同', {}, EVERYTHING, false],
        ['合', { conversationKey: 'room:r2' }, EVERYTHING, true],
        ['报', {}, scope, true],
      ] as const) {
        const query = parseSearchQuery(text, { corpid: CORPS[0], ...filters });
        const expected = bruteForce(corpus, query).filter((msgid) => reader === EVERYTHING || corpus.some((m) => m.msgid === msgid && m.conversation === 'room:r1'));
        asked.length = 0;
        const page = await searchMessages(db, store.dialect, reader, query, { limit: 7, count: 10_000, tuning: lists });
        expect(
          page.hits.map((h) => h.msgid),
          text,
        ).toEqual(expected.slice(0, 7));
        expect(page.count, text).toEqual({ count: expected.length, atLeast: false });
        expect(expected.length, text).toBeGreaterThan(0);
        expect(askedIndex(), `${text}: the full-text index asked`).toBe(listing ? 1 : 2);
        if (listing && decided) expect(asked.filter((q) => /["`]messages["`]/.test(q)).length, `${text}: reads of the messages`).toBe(1);
      }
    } finally {
      await db.destroy();
    }
  });

  it('counts from a first slice of holders the page listed, then below it, or past the page where the page read past it (PostgreSQL)', async () => {
    // the first slice of a page with its count is sized for the count's checks (countSlice, here a
    // few holders where the checks are 1,000): where the text decides, the count goes on through
    // the slice and then asks the index for the rest below it; a page that read past the slice
    // goes on past the page, as without a list
    const asked: string[] = [];
    const db = new Kysely<Database>({ dialect: store.dialect.createKyselyDialect(), log: (e) => void asked.push(e.query.sql) });
    const rawRead = (fromIndex: boolean) => asked.filter((q) => /select "m"\."raw"/.test(q) && /@@|AGAINST|search_fts MATCH/.test(q) === fromIndex).length;
    // on PostgreSQL, which lists holders a slice at a time: counts that read the slice's messages
    // by key and then asked the index below it, and counts that only asked the index (the page
    // read to the slice's end or past it)
    let throughSlice = 0;
    let pastSlice = 0;
    try {
      for (const text of ['"同 deploy"', '合 -同', '"合同 v2"', '"报价" -单', '会议 -v2']) {
        for (const countSlice of [1, 6, 12]) {
          for (const limit of [1, 3]) {
            const query = parseSearchQuery(text, { corpid: CORPS[0] });
            const expected = bruteForce(corpus, query);
            const what = `${text}, a slice for ${countSlice}, a page of ${limit}`;
            asked.length = 0;
            const page = await searchMessages(db, store.dialect, EVERYTHING, query, { limit, count: 10_000, tuning: { sortsUpTo: 1e9, walksFrom: 2, firstBatch: 1, countSlice } });
            expect(
              page.hits.map((h) => h.msgid),
              what,
            ).toEqual(expected.slice(0, limit));
            expect(page.count, what).toEqual({ count: expected.length, atLeast: false });
            if (rawRead(true) === 1) {
              if (rawRead(false) > 0) throughSlice++;
              else pastSlice++;
            }
          }
        }
      }
    } finally {
      await db.destroy();
    }
    if (store.dialect.name === 'postgres') {
      expect(throughSlice).toBeGreaterThan(0);
      expect(pastSlice).toBeGreaterThan(0);
    }
  });

  it('reads a page’s worth of candidates first where the index decides, twice that where the text decides', async () => {
    // candidates read newest first from the index on every dialect: no list of holders, no walk
    const reads: SearchTuning = { sortsUpTo: -1, walksFrom: 2 };
    const limits: unknown[][] = [];
    const db = new Kysely<Database>({
      dialect: store.dialect.createKyselyDialect(),
      log: (e) => void (/["`]messages["`]/.test(e.query.sql) && /limit/i.test(e.query.sql) ? limits.push([...e.query.parameters]) : undefined),
    });
    try {
      for (const [text, firstRead] of [
        ['合', 21],
        ['合 -同', 41],
      ] as const) {
        const query = parseSearchQuery(text, { corpid: CORPS[0] });
        limits.length = 0;
        const page = await searchMessages(db, store.dialect, EVERYTHING, query, { limit: 20, tuning: reads });
        expect(page.hits.map((h) => h.msgid)).toEqual(bruteForce(corpus, query).slice(0, 20));
        expect(page.hits.length, text).toBe(20);
        // the page and the one past it (inKeyedBatches): all of the decided term's candidates match
        expect(limits[0]?.at(-1), text).toBe(firstRead);
      }
    } finally {
      await db.destroy();
    }
  });

  it('reads a department grant’s members and conversations once for a page and a count planned apart from it', async () => {
    const corpid = CORPS[0]!;
    const viewer = 'plan-dept-member';
    await store.db
      .insertInto('dir_departments')
      .values({ corpid, dept_id: 70, name: 'd70', name_en: null, parent_id: null, sort_order: null, deleted_at: null, synced_at: 1, updated_at: 1 })
      .execute();
    await store.db
      .insertInto('dir_members')
      .values({
        corpid,
        userid: viewer,
        name: null,
        name_pinyin: null,
        name_initials: null,
        alias: null,
        position: null,
        departments: '[70]',
        main_department: 70,
        status: 1,
        renamed_to: null,
        deleted_at: null,
        synced_at: 1,
        updated_at: 1,
      })
      .execute();
    await store.db.insertInto('conversation_participants').values({ corpid, conversation_key: 'room:r3', userid: viewer }).execute();
    const scope: ReadScope = { kind: 'limited', corps: [], departments: [{ corpid, departmentId: 70 }], conversations: [] };
    const asked: string[] = [];
    const db = new Kysely<Database>({ dialect: store.dialect.createKyselyDialect(), log: (e) => void asked.push(e.query.sql) });
    try {
      // neither lists every holder nor walks, so the count is planned apart from the page
      const tuning: SearchTuning = { sortsUpTo: -1, walksFrom: 2 };
      const query = parseSearchQuery('合', { corpid });
      const expected = bruteForce(corpus, query).filter((msgid) => corpus.some((m) => m.corpid === corpid && m.msgid === msgid && m.conversation === 'room:r3'));
      const page = await searchMessages(db, store.dialect, scope, query, { limit: 7, count: 10_000, tuning });
      expect(page.hits.map((h) => h.msgid)).toEqual(expected.slice(0, 7));
      expect(page.count).toEqual({ count: expected.length, atLeast: false });
      expect(expected.length).toBeGreaterThan(7);
      expect(asked.filter((q) => /from ["`]dir_members["`]/.test(q))).toHaveLength(1);
      // PostgreSQL and SQLite ask for the scope as the list of its conversations, for the page and the count alike
      expect(asked.filter((q) => q.startsWith('SELECT c.conversation_key FROM conversations c'))).toHaveLength(store.dialect.search.scopeAsList === undefined ? 0 : 1);
      // the scope is a condition on the index entries, which name their conversations: the count,
      // which the index decides, is the index's own (countHolders), and reads no message (PostgreSQL
      // counts the entries with parts and those without apart, in one statement)
      const counts = asked.filter((q) => /^SELECT (LEAST\(\(SELECT )?count\(\*\) AS n FROM \(SELECT 1 FROM search_/.test(q));
      expect(counts).toHaveLength(1);
      expect(counts[0]).not.toMatch(/messages/);
    } finally {
      await db.destroy();
    }
  });

  it('runs a page with its count, and a count, in the session the dialect asks for: on PostgreSQL one read-only transaction without parallel workers or JIT', async () => {
    const { search } = store.dialect;
    const setting = async (db: Kysely<Database>, name: string) => (await sql<{ v: string }>`SELECT current_setting(${name}) AS v`.execute(db)).rows[0]!.v;
    if (search.searchSession === undefined) {
      expect(store.dialect.name).not.toBe('postgres');
      return;
    }
    const serverJit = await setting(store.db, 'jit');
    const inside = await search.searchSession(store.db, async (db) => ({
      workers: await setting(db, 'max_parallel_workers_per_gather'),
      jit: await setting(db, 'jit'),
      readOnly: await setting(db, 'transaction_read_only'),
    }));
    expect(inside).toEqual({ workers: '0', jit: 'off', readOnly: 'on' });
    // the pool's connections keep the server's own settings for everything else
    expect(await setting(store.db, 'max_parallel_workers_per_gather')).not.toBe('0');
    expect(await setting(store.db, 'jit')).toBe(serverJit);
    let sessions = 0;
    const counted = {
      ...store.dialect,
      search: { ...search, searchSession: <T>(db: Kysely<Database>, work: (db: Kysely<Database>) => Promise<T>) => ((sessions += 1), search.searchSession!(db, work)) },
    };
    const query = parseSearchQuery('合同', { corpid: CORPS[0] });
    const page = await searchMessages(store.db, counted, EVERYTHING, query, { limit: 3, count: 10_000 });
    expect(page.count).toEqual({ count: bruteForce(corpus, query).length, atLeast: false });
    expect(await countMatches(store.db, counted, EVERYTHING, query)).toEqual(page.count);
    expect(sessions).toBe(2);
  });

  it('reads a count’s candidates past a page checking each one’s id, and asks the id indexes for the range only for a time filter no facet narrows (PostgreSQL)', async () => {
    if (store.dialect.name !== 'postgres') {
      expect(store.dialect.search.countsByDays).not.toBe(true);
      return;
    }
    const asked: string[] = [];
    const db = new Kysely<Database>({ dialect: store.dialect.createKyselyDialect(), log: (e) => void asked.push(e.query.sql) });
    // a first page of one with its count, read newest first (no list of every holder), of a phrase:
    // the count reads the rest of the candidates' text past the page (countOnward)
    const candidatesRead = async (filters: Record<string, number>) => {
      asked.length = 0;
      const query = parseSearchQuery('"同 deploy"', { corpid: CORPS[0], ...filters });
      const expected = bruteForce(corpus, query);
      expect(expected.length).toBeGreaterThan(1);
      const page = await searchMessages(db, store.dialect, EVERYTHING, query, { limit: 1, count: 10_000, tuning: { sortsUpTo: -1 } });
      expect(page.count).toEqual({ count: expected.length, atLeast: false });
      return asked.filter((q) => /select "m"\."raw"/.test(q));
    };
    try {
      // no time filter: the rest of the corp's span past the page
      expect(await candidatesRead({})).toEqual([expect.stringContaining('(d.ord + 0) <')]);
      // since a time, which no facet asks for
      const [narrow] = await candidatesRead({ since: 20_000 });
      expect(narrow).toContain('d.ord >=');
      expect(narrow).not.toContain('(d.ord + 0)');
    } finally {
      await db.destroy();
    }
  });

  it('asks the full-text index for a day by its facet, or, where the index seeks ranges of ids (SQLite), by the day’s ids alone', async () => {
    const parameters: unknown[] = [];
    const db = new Kysely<Database>({ dialect: store.dialect.createKyselyDialect(), log: (e) => void parameters.push(...e.query.parameters) });
    try {
      // the third day (1970-01-03), and a character one of its messages holds
      const day = 2 * 86_400_000;
      const held = corpus.find((m) => m.corpid === CORPS[0] && m.msgtime >= day && m.msgtime < day + 86_400_000 && /\p{Script=Han}/u.test(m.text));
      const query = parseSearchQuery(held!.text.match(/\p{Script=Han}/u)![0], { corpid: CORPS[0], since: day, until: day + 86_400_000 });
      const expected = bruteForce(corpus, query);
      expect(expected.length).toBeGreaterThan(0);
      const page = await searchMessages(db, store.dialect, EVERYTHING, query, { limit: 50, count: 10_000 });
      expect(page.hits.map((h) => h.msgid)).toEqual(expected.slice(0, 50));
      expect(page.count).toEqual({ count: expected.length, atLeast: false });
      const askedDay = parameters.some((p) => typeof p === 'string' && p.includes(encodeFacet('day', '19700103')));
      expect(askedDay).toBe(store.dialect.name !== 'sqlite');
    } finally {
      await db.destroy();
    }
  });

  it('walks a conversation whose messages share one millisecond batch by batch, page by page, to the scan’s answer', async () => {
    let crossed = 0;
    for (const character of CJK) {
      const query = parseSearchQuery(character, { corpid: CORPS[0]!, conversationKey: 'room:r5' });
      const expected = bruteForce(corpus, query);
      if (expected.length > 3) crossed++;
      for (const plan of ['walk', 'walkBatches'] as const) expect(await allPages(store, query, PLANS[plan]!), `${plan} plan, ${character}`).toEqual(expected);
    }
    // batches of three and pages of seven end inside the millisecond
    expect(crossed).toBeGreaterThan(0);
  });

  it('gives the scan’s answer however the index is read, page by page, with counts exact up to the cap or bounded by their checks', async () => {
    const rng = seededRng(testSeed('SEARCH_PLAN_SEED', 'search plans vs brute force'));
    const conversationOf = new Map(corpus.map((m) => [`${m.corpid}/${m.msgid}`, m.conversation]));
    let nonEmpty = 0;
    let capped = 0;
    let stopped = 0;
    let listedStopped = 0;
    let walkedShort = 0;
    for (let n = 0; n < QUERIES; n++) {
      const text = randomQuery(rng);
      const filters: Record<string, unknown> = { corpid: rng.pick(CORPS) };
      if (rng.chance(0.25)) filters.conversationKey = `room:r${rng.range(0, 5)}`;
      if (rng.chance(0.4)) {
        // whole seconds, or not (the first SAME_SECOND messages lie within the second from 1,000)
        const within = (): number => (rng.chance(0.3) ? rng.range(0, 999) : 0);
        filters.since = 1_000 * rng.range(0, 60) + within();
        filters.until = 1_000 * Math.floor((filters.since as number) / 1_000) + 1_000 * rng.range(1, 80) + within();
      }
      const query = parseSearchQuery(text, filters);
      const expected = bruteForce(corpus, query);
      if (expected.length > 0) nonEmpty++;
      const cap = rng.range(1, 20);
      if (expected.length >= cap) capped++;
      for (const [plan, tuning] of Object.entries(PLANS)) {
        const what = `${plan} plan, query ${JSON.stringify(text)} ${JSON.stringify(filters)}`;
        expect(await allPages(store, query, tuning), what).toEqual(expected);
        expect(await countMatches(store.db, store.dialect, EVERYTHING, query, 10_000, tuning), what).toEqual({ count: expected.length, atLeast: false });
        const expectedCapped = expected.length >= cap ? { count: cap, atLeast: true } : { count: expected.length, atLeast: false };
        expect(await countMatches(store.db, store.dialect, EVERYTHING, query, cap, tuning), `${what}, cap ${cap}`).toEqual(expectedCapped);
        // the count asked with the first page (from the page's list of holders where it listed them all)
        const first = await searchMessages(store.db, store.dialect, EVERYTHING, query, { limit: 7, tuning, count: cap });
        expect(
          first.hits.map((h) => h.msgid),
          what,
        ).toEqual(expected.slice(0, 7));
        expect(first.count, `${what}, counted with the first page, cap ${cap}`).toEqual(expectedCapped);
      }
      // a reader granted some of the corp's conversations finds only their messages, however the
      // index is read (PostgreSQL asks for the walk's scope as a list of conversations)
      const granted = [`room:r${rng.range(0, 4)}`, `room:r${rng.range(0, 4)}`];
      const scope: ReadScope = { kind: 'limited', corps: [], departments: [], conversations: granted.map((conversation) => ({ corpid: query.filters.corpid!, conversation })) };
      const scoped = expected.filter((msgid) => granted.includes(conversationOf.get(`${query.filters.corpid}/${msgid}`)!));
      for (const plan of ['default', 'walk'] as const) {
        const what = `${plan} plan, ${granted.join(' and ')} granted, query ${JSON.stringify(text)} ${JSON.stringify(filters)}`;
        expect(await allPages(store, query, PLANS[plan]!, scope), what).toEqual(scoped);
        expect(await countMatches(store.db, store.dialect, scope, query, 10_000, PLANS[plan]), what).toEqual({ count: scoped.length, atLeast: false });
        expect((await searchMessages(store.db, store.dialect, scope, query, { limit: 7, tuning: PLANS[plan], count: 10_000 })).count, what).toEqual({
          count: scoped.length,
          atLeast: false,
        });
      }
      // a count that may check only a few candidates on their text
      const checks = rng.range(1, 4);
      const counted = await countMatches(store.db, store.dialect, EVERYTHING, query, 10_000, { countChecks: checks });
      if (expectBudgetCount(corpus, query, checks, counted, `query ${JSON.stringify(text)} ${JSON.stringify(filters)}, ${checks} checks`)) stopped++;
      // a page of one: the count goes on past it (countOnward, countListed) as often as the page alone looks at more than the checks
      const withPage = await searchMessages(store.db, store.dialect, EVERYTHING, query, { limit: 1, count: 10_000, tuning: { countChecks: checks } });
      if (expectBudgetCount(corpus, query, checks, withPage.count!, `query ${JSON.stringify(text)} ${JSON.stringify(filters)}, ${checks} checks, counted with the first page`))
        listedStopped++;
      // at the boundary, where a candidate read twice or one check too many or too few shows: as
      // many checks as candidates count them all exactly, one fewer says "at least"
      const candidates = candidatesOf(corpus, query).length;
      if (!indexDecides(query, planIndexQuery(query)) && candidates > 1) {
        for (const budget of [candidates, candidates - 1]) {
          const bounded = await searchMessages(store.db, store.dialect, EVERYTHING, query, { limit: 1, count: 10_000, tuning: { countChecks: budget } });
          expectBudgetCount(
            corpus,
            query,
            budget,
            bounded.count!,
            `query ${JSON.stringify(text)} ${JSON.stringify(filters)}, ${budget} checks of ${candidates} candidates, with the first page`,
          );
        }
      }
      // a walking count that may read only the newest few entries in the range (MariaDB)
      const entries = rng.range(5, 60);
      const walked = await countMatches(store.db, store.dialect, EVERYTHING, query, 10_000, { walksFrom: 0, countWalk: entries });
      if (expectWalkedCount(store, corpus, query, entries, walked, `query ${JSON.stringify(text)} ${JSON.stringify(filters)}, ${entries} entries walked`)) walkedShort++;
    }
    // the comparison is not between empty answers, and caps are reached
    expect(nonEmpty).toBeGreaterThan(QUERIES / 3);
    expect(capped).toBeGreaterThan(QUERIES / 8);
    // counts stopped by their checks: 7–14 of the 100 queries for seeds 1–11, but 2 for
    // SEARCH_PLAN_SEED=240327737, which a floor of QUERIES / 50 failed on every dialect. Each
    // query that its index does not decide is stopped one check short below in any case
    expect(stopped).toBeGreaterThan(0);
    expect(listedStopped).toBeGreaterThan(0);
    if (store.dialect.search.holdsAllByText !== undefined) expect(walkedShort).toBeGreaterThan(QUERIES / 4);
  }, 180_000);
});
