/**
 * Search benchmark. Loads N text messages with realistic term frequencies (a common word in about
 * 10% of them, rarer words, names, numbers, English words) straight into the messages table of an
 * empty database, 10,000 a transaction with the dialect's multi-row inserts, each with its row in
 * the index stage's queue as the decrypt stage leaves them; indexes them with the index stage; then
 * times each query class. Prints one JSON line:
 *   {messages, db, load_s, index_msgs_per_s, index_bytes_per_msg, classes: {CLASS: {p50_ms, p95_ms, p99_ms, like_p95_ms, hits, count, like_hits, like_count}}}
 * and on SQLite also cpu_p95_ms and like_cpu_p95_ms: the CPU time of this process, which a shared
 * machine does not inflate as it does wall time; on MariaDB/MySQL also buffer_pool_mb, the server's
 * innodb_buffer_pool_size, which decides whether the index and the messages are read from memory.
 * A query's time is the first page of 50 plus the count (capped at 10,000), asked together as the
 * web UI asks for them (searchMessages with `count`: where the page lists every holder of the
 * query's tokens, the count is taken from that list); like_p95_ms is the same page and count as
 * `raw LIKE '%…%'` over the stored messages, in the same run, and like_hits and like_count what
 * it found. A LIKE that finds nothing where the search finds hits is no baseline: the run stops.
 *
 *   npm run bench:search -- --messages 100000 [--db URL] [--rounds 30]
 * With --db the database should be empty (a fresh database or schema). `--reuse --classes a,b
 * --no-like` times the queries again on a database a run with the same --messages loaded.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { EVERYTHING } from '../src/access/read-scope.ts';
import { parseSearchQuery, type SearchFilters } from '../src/search/query.ts';
import { SEARCH_LIMITS, searchMessages } from '../src/search/search-messages.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { seededRng } from '../test/support/test-seed.ts';
import { COMMON_WORD as COMMON, ENGLISH_WORDS as ENGLISH, NAME_WORDS as NAMES, RARE_WORDS as RARE } from './support/chat-text.ts';
import { refreshPlannerStatistics } from './support/api-archive.ts';
import { indexQueued, LOAD_BATCH, percentile, storeMessages } from './support/bulk-store.ts';
import { CORP, messageRow, START } from './support/text-rows.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '100000' },
    db: { type: 'string' },
    rounds: { type: 'string', default: '30' },
    // development aids: time the queries on a database a run with the same --messages loaded, only some classes, without LIKE
    reuse: { type: 'boolean' },
    classes: { type: 'string' },
    'no-like': { type: 'boolean' },
  },
});
const count = Number(values.messages);
const rounds = Number(values.rounds);
if (!Number.isInteger(count) || count < 1000) throw new Error('--messages must be an integer of at least 1000');
if (values.reuse && !values.db) throw new Error('--reuse needs --db');
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-search-'));
const url = values.db ?? `sqlite:${join(dir, 'archive.db')}`;

/** Stores the messages as the decrypt stage leaves them: each with its row in the index stage's queue. */
async function load(store: Store): Promise<number> {
  const rng = seededRng('bench-search');
  const t0 = performance.now();
  for (let i = 0; i < count; i += LOAD_BATCH) {
    await storeMessages(
      store,
      Array.from({ length: Math.min(LOAD_BATCH, count - i) }, (_, k) => messageRow(i + k, rng)),
      START,
    );
  }
  return (performance.now() - t0) / 1000;
}

/** Bytes the index takes: its tables as the database reports them. */
async function indexBytes(store: Store): Promise<number> {
  const { db, dialect } = store;
  if (dialect.name === 'sqlite') {
    const r = await sql<{
      n: number;
    }>`SELECT sum(pgsize) AS n FROM dbstat WHERE name LIKE 'search_docs%' OR name LIKE 'search_fts%' OR name LIKE 'sqlite_autoindex_search_docs%'`.execute(db);
    return Number(r.rows[0]?.n ?? 0);
  }
  if (dialect.name === 'postgres') {
    const r = await sql<{ n: string }>`SELECT pg_total_relation_size('search_docs') AS n`.execute(db);
    return Number(r.rows[0]?.n ?? 0);
  }
  await sql`ANALYZE TABLE search_docs`.execute(db);
  const r = await sql<{ n: number }>`SELECT data_length + index_length AS n FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'search_docs'`.execute(
    db,
  );
  return Number(r.rows[0]?.n ?? 0);
}

/**
 * Wall time per run, and this process's CPU time per run: on SQLite, which runs inside the process,
 * the CPU time is the work itself, and it stays what an idle machine would take when the machine is
 * shared (wall time then grows with the load). On a server database most work is the server's, so
 * only wall time means anything there.
 */
async function timed(work: () => Promise<unknown>, times: number): Promise<{ wall: number[]; cpu: number[] }> {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    await work();
    const used = process.cpuUsage(c);
    wall.push(performance.now() - t);
    cpu.push((used.user + used.system) / 1000);
  }
  return { wall: wall.sort((a, b) => a - b), cpu: cpu.sort((a, b) => a - b) };
}

/**
 * The same first page and count by LIKE over the stored JSON: its page's size and its count.
 * SQLite keeps `raw` as a BLOB, and better-sqlite3's SQLite is built with
 * SQLITE_LIKE_DOESNT_MATCH_BLOBS (LIKE matches no BLOB), so there the column is read as text.
 * PostgreSQL's bytea takes a bytea pattern; MariaDB compares a BLOB's bytes with the pattern's.
 */
async function likeQuery(store: Store, needle: string, filters: SearchFilters): Promise<{ hits: number; count: number }> {
  const pattern = `%${needle}%`;
  const like =
    store.dialect.name === 'postgres'
      ? sql<boolean>`raw LIKE ${Buffer.from(pattern)}`
      : store.dialect.name === 'sqlite'
        ? sql<boolean>`CAST(raw AS TEXT) LIKE ${pattern}`
        : sql<boolean>`raw LIKE ${pattern}`;
  let q = store.db.selectFrom('messages').where('corpid', '=', CORP).where(like);
  if (filters.conversationKey) q = q.where('conversation_key', '=', filters.conversationKey);
  if (filters.since !== undefined) q = q.where('msgtime', '>=', filters.since);
  if (filters.until !== undefined) q = q.where('msgtime', '<', filters.until);
  const page = await q.select(['msgid']).orderBy('msgtime', 'desc').limit(50).execute();
  const counted = await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
  return { hits: page.length, count: Number(counted?.n ?? 0) };
}

const store = await openStore(url);
try {
  let loadSeconds: number | null = null;
  let indexSeconds: number | null = null;
  if (!values.reuse) {
    loadSeconds = await load(store);
    indexSeconds = await indexQueued(store, count);
  }
  await refreshPlannerStatistics(store);
  const bytes = await indexBytes(store);
  const bufferPool = store.dialect.name === 'mysql' ? (await sql<{ n: number | string }>`SELECT @@innodb_buffer_pool_size AS n`.execute(store.db)).rows[0]?.n : undefined;
  const mid = START + Math.floor(count / 2) * 1000;
  const classes: Array<[string, string, string, SearchFilters]> = [
    ['rare_2char', RARE[0]!, RARE[0]!, {}],
    ['common_2char', COMMON, COMMON, {}],
    ['one_char', '龉', '龉', {}],
    ['three_four_char', '张伟合同', '张伟合同', {}],
    ['phrase', `"${NAMES[1]} ${ENGLISH[0]}"`, `${NAMES[1]} ${ENGLISH[0]}`, {}],
    ['english_word', ENGLISH[1]!, ENGLISH[1]!, {}],
    ['conversation_filter', COMMON, COMMON, { conversationKey: 'room:r7' }],
    ['date_range', COMMON, COMMON, { since: mid, until: mid + 86_400_000 }],
  ];
  const only = values.classes?.split(',');
  const results: Record<string, unknown> = {};
  for (const [name, text, needle, filters] of classes) {
    if (only && !only.includes(name)) continue;
    const query = parseSearchQuery(text, { corpid: CORP, ...filters });
    // the first page with its count, as the web UI asks for them (GET /api/search?count=true)
    const firstPage = () => searchMessages(store.db, store.dialect, EVERYTHING, query, { limit: 50, count: SEARCH_LIMITS.defaultCountCap });
    const page = await firstPage();
    const counted = page.count;
    if (counted === undefined) throw new Error('searchMessages gave no count');
    const ms = await timed(firstPage, rounds);
    const likeFound = values['no-like'] ? undefined : await likeQuery(store, needle, { corpid: CORP, ...filters });
    if (likeFound?.hits === 0 && page.hits.length > 0) throw new Error(`LIKE '%${needle}%' found nothing where the search found ${page.hits.length} hits: not a baseline`);
    const like = likeFound === undefined ? undefined : await timed(() => likeQuery(store, needle, { corpid: CORP, ...filters }), Math.max(3, Math.floor(rounds / 6)));
    const inProcess = store.dialect.name === 'sqlite';
    results[name] = {
      p50_ms: percentile(ms.wall, 0.5),
      p95_ms: percentile(ms.wall, 0.95),
      p99_ms: percentile(ms.wall, 0.99),
      like_p95_ms: like ? percentile(like.wall, 0.95) : null,
      ...(inProcess ? { cpu_p95_ms: percentile(ms.cpu, 0.95), like_cpu_p95_ms: like ? percentile(like.cpu, 0.95) : null } : {}),
      hits: page.hits.length,
      count: counted.atLeast ? `>=${counted.count}` : counted.count,
      ...(likeFound ? { like_hits: likeFound.hits, like_count: likeFound.count } : {}),
    };
  }
  console.log(
    JSON.stringify({
      messages: count,
      db: store.dialect.name,
      load_s: loadSeconds === null ? null : Math.round(loadSeconds),
      index_msgs_per_s: indexSeconds === null ? null : Math.round(count / indexSeconds),
      index_bytes_per_msg: Math.round(bytes / count),
      ...(bufferPool === undefined ? {} : { buffer_pool_mb: Math.round(Number(bufferPool) / 2 ** 20) }),
      classes: results,
    }),
  );
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
