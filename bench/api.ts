/**
 * API benchmark: the read routes of a running archive, signed in, on a large archive. Builds (or,
 * with --reuse, finds) an archive of --messages messages in messages / 50 conversations, one of them
 * a group holding every tenth message (bench/support/api-archive.ts), starts `wecom-archive serve` on
 * it as a user would (the composition root in its own process, logging one line per request), signs
 * in as an admin and as a viewer granted one department, and times:
 *   - the conversation list (first page of 50);
 *   - a 50-message page of the busy conversation at its start (`at=` its first message's time), in
 *     its middle (`at=`), at its end (no cursor) and `around=` a message;
 *   - search for a rare and a common two-character term;
 *   - the viewer's list, end page and both searches (their scope is resolved in the SQL);
 *   - the common term's first page with its count, as the web UI asks for them, for the admin and the viewer;
 *   - requests per second of the messages route with 16 clients at once (keep-alive connections).
 * Server time is Fastify's own for each request (`ms` of the server's request log line, matched by
 * the X-Request-Id the bench sends): from the request's arrival to the answer sent, the audit row
 * written before the answer included. Client time (loopback round trip) is shown beside it.
 *
 *   npm run bench:api -- [--dialect sqlite|postgres|mysql] [--messages 1000000] [--reuse] [--rounds 100] [--seconds 10] [--no-search]
 * PostgreSQL and MariaDB: the server of TEST_POSTGRES_URL / TEST_MYSQL_URL (or --server URL) gets a
 * database wa_bench_api_<messages>, dropped afterwards unless --reuse keeps it for the next run
 * (SQLite: a folder wa-bench-api-<messages> in the temporary directory, TMPDIR, likewise). A kept
 * archive still queued for the search index (built with --no-search) is indexed before search is timed.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kysely, sql } from 'kysely';
import { accessServices } from '../src/access/access-services.ts';
import { dialectFromUrl, openStore, type Store } from '../src/store/open-store.ts';
import { BENCH_CORP, BIG_CONVERSATION, type BuildFigures, buildApiArchive, refreshPlannerStatistics, SPACING_MS, START, VIEWER_DEPARTMENT } from './support/api-archive.ts';
import { indexQueued, percentile } from './support/bulk-store.ts';
import { COMMON_WORD, RARE_WORDS } from './support/chat-text.ts';
import { seededRng } from '../test/support/test-seed.ts';

const { values } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    messages: { type: 'string', default: '1000000' },
    reuse: { type: 'boolean' },
    rounds: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    server: { type: 'string' },
    // the archive without its search index, and no search cases: indexing 1,000,000 messages takes
    // PostgreSQL hours on a loaded machine (bench:search measures search)
    'no-search': { type: 'boolean' },
  },
});
const dialect = values.dialect!;
const messages = Number(values.messages);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
if (!['sqlite', 'postgres', 'mysql'].includes(dialect)) throw new Error('--dialect must be sqlite, postgres or mysql');
if (!Number.isInteger(messages) || messages < 1000) throw new Error('--messages must be an integer of at least 1000');
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
if (!(seconds > 0)) throw new Error('--seconds must be positive');

const CLIENTS = 16;
const PAGE = 50;
const BIN = join(import.meta.dirname, '../bin/wecom-archive');
// the bench archive seals no secret, but a reused database checks the key it was first opened with
const MASTER_KEY = 'be'.repeat(32);
const ADMIN = 'benchadmin';
const VIEWER = 'benchviewer';

/** Where the archive lives: its URL, a data folder for the serving process, and how to drop it. */
interface Place {
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

async function placeFor(): Promise<Place> {
  const dataDir = join(tmpdir(), `wa-bench-api-${messages}`);
  if (!values.reuse) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const dropDir = async () => rmSync(dataDir, { recursive: true, force: true });
  if (dialect === 'sqlite') return { url: `sqlite:${join(dataDir, 'archive.db')}`, dataDir, drop: dropDir };
  const serverUrl = values.server ?? (dialect === 'postgres' ? process.env.TEST_POSTGRES_URL : process.env.TEST_MYSQL_URL);
  if (!serverUrl) throw new Error(`--dialect ${dialect} needs --server URL (or ${dialect === 'postgres' ? 'TEST_POSTGRES_URL' : 'TEST_MYSQL_URL'})`);
  const name = `wa_bench_api_${messages}`;
  const admin = () => new Kysely<Record<string, never>>({ dialect: dialectFromUrl(serverUrl).createKyselyDialect() });
  const dropDb = async () => {
    const a = admin();
    try {
      await sql`DROP DATABASE IF EXISTS ${sql.id(name)}${dialect === 'postgres' ? sql` WITH (FORCE)` : sql``}`.execute(a);
    } finally {
      await a.destroy();
    }
  };
  if (!values.reuse) await dropDb();
  const a = admin();
  try {
    const exists =
      dialect === 'postgres'
        ? (await sql`SELECT 1 FROM pg_database WHERE datname = ${name}`.execute(a)).rows.length > 0
        : (await sql`SELECT 1 FROM information_schema.schemata WHERE schema_name = ${name}`.execute(a)).rows.length > 0;
    if (!exists) await sql`CREATE DATABASE ${sql.id(name)}${dialect === 'mysql' ? sql` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin` : sql``}`.execute(a);
  } finally {
    await a.destroy();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), dataDir, drop: async () => (await dropDb(), await dropDir()) };
}

/** What preparing the archive took: its build (null when reused), and the index queue a reused archive still had, indexed now. */
interface Preparation {
  build: BuildFigures | null;
  caughtUp: { messages: number; index_s: number } | null;
}

/**
 * Builds the archive, or finds the one a run with the same --messages left (--reuse). A kept archive
 * whose index queue is not empty (built with --no-search, or stopped while indexing) has its queue
 * indexed first when search is timed, so search is always timed on the whole archive.
 */
async function ensureArchive(store: Store): Promise<Preparation> {
  const count = async (table: 'messages' | 'search_pending') =>
    Number(
      (
        await store.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const stored = await count('messages');
  if (stored === messages) {
    const queued = values['no-search'] ? 0 : await count('search_pending');
    if (queued === 0) return { build: null, caughtUp: null };
    process.stderr.write(`the kept archive has ${queued} messages queued for the search index: indexing them first\n`);
    const indexSeconds = await indexQueued(store, queued);
    await refreshPlannerStatistics(store);
    return { build: null, caughtUp: { messages: queued, index_s: Math.round(indexSeconds) } };
  }
  if (stored !== 0) throw new Error(`the kept archive holds ${stored} messages, not ${messages}; run once without --reuse`);
  return { build: await buildApiArchive(store, messages, !values['no-search']), caughtUp: null };
}

/** The admin and the viewer (granted one department), each with a fresh password, never printed. */
async function prepareUsers(store: Store): Promise<Record<string, string>> {
  const { admin } = accessServices(store.db);
  const by = { username: 'bench' };
  const passwords: Record<string, string> = {};
  const existing = new Set((await admin.listUsers()).map((u) => u.username));
  for (const [username, role, grants] of [
    [ADMIN, 'admin', []],
    [VIEWER, 'viewer', [{ kind: 'department', corpid: BENCH_CORP, departmentId: VIEWER_DEPARTMENT }]],
  ] as const) {
    const password = randomBytes(18).toString('base64url');
    passwords[username] = password;
    if (existing.has(username)) await admin.setPassword(by, username, password);
    else await admin.addUser(by, { username, role, password, grants });
  }
  return passwords;
}

/** The serving process, its address, and the server time (ms) of each request by request id, from its log. */
interface Server {
  child: ChildProcess;
  base: URL;
  serverMs: Map<string, number>;
}

function startServer(place: Place): Promise<Server> {
  const env = {
    ...process.env,
    WECOM_ARCHIVE_DB: place.url,
    WECOM_ARCHIVE_DATA_DIR: place.dataDir,
    WECOM_ARCHIVE_MASTER_KEY: MASTER_KEY,
    WECOM_ARCHIVE_LOG_LEVEL: 'info',
    WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0',
  };
  const child = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const serverMs = new Map<string, number>();
  return new Promise((resolve, reject) => {
    let rest = '';
    let base: URL | undefined;
    child.on('exit', (code) => reject(new Error(`wecom-archive serve exited with ${code}`)));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('{')) {
          const entry = JSON.parse(line) as { msg?: string; reqId?: string; ms?: number; level?: number };
          if (entry.msg === 'request' && entry.reqId !== undefined && entry.ms !== undefined) serverMs.set(entry.reqId, entry.ms);
          else if ((entry.level ?? 0) >= 40) process.stderr.write(`${line}\n`);
          continue;
        }
        const m = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(line);
        if (m && !base) {
          base = new URL(m[1]!);
          resolve({ child, base, serverMs });
        }
      }
    });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  clientMs: number;
}

function call(base: URL, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(new URL(path, base), { method, agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers, clientMs: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function signIn(base: URL, username: string, password: string): Promise<string> {
  const res = await call(base, 'POST', '/api/session', { 'content-type': 'application/json' }, JSON.stringify({ username, password }));
  if (res.status !== 200) throw new Error(`signing in as ${username} answered ${res.status}: ${res.body}`);
  const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
  if (!cookie) throw new Error('signing in set no cookie');
  return cookie.split(';')[0]!;
}

/** What the checks look at in an answer. */
interface Body {
  messages?: unknown[];
  hits?: unknown[];
  conversations?: unknown[];
  count?: { n?: unknown };
}

/** One timed case: a path for each round, and a check of each answer (so a fast error is never timed as a read). */
interface Case {
  name: string;
  who: string;
  path(round: number): string;
  check(body: Body): string | undefined;
}

interface Figures {
  p50: number;
  p95: number;
  max: number;
  n: number;
  client_p50: number;
}

let requestNumber = 0;

async function timedGet(server: Server, cookie: string, path: string, label: string, check: Case['check']): Promise<{ id: string; clientMs: number }> {
  const id = `bench-${label}-${++requestNumber}`;
  const res = await call(server.base, 'GET', path, { cookie, 'x-request-id': id });
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${res.body.slice(0, 300)}`);
  const wrong = check(JSON.parse(res.body) as Body);
  if (wrong) throw new Error(`GET ${path}: ${wrong}`);
  return { id, clientMs: res.clientMs };
}

/** The server times of these requests, once the server has logged each of them. */
async function serverTimes(server: Server, ids: readonly string[]): Promise<number[]> {
  for (let i = 0; i < 100 && ids.some((id) => !server.serverMs.has(id)); i++) await new Promise((r) => setTimeout(r, 20));
  const missing = ids.filter((id) => !server.serverMs.has(id));
  if (missing.length > 0) throw new Error(`the server logged no time for ${missing.length} requests`);
  return ids.map((id) => server.serverMs.get(id)!).sort((a, b) => a - b);
}

function figures(server: number[], client: number[]): Figures {
  const sortedClient = [...client].sort((a, b) => a - b);
  return { p50: percentile(server, 0.5), p95: percentile(server, 0.95), max: percentile(server, 1), n: server.length, client_p50: percentile(sortedClient, 0.5) };
}

async function runCase(server: Server, cookies: Record<string, string>, c: Case): Promise<Figures> {
  // a few unmeasured rounds first: the first reads of a route warm the server's and the database's caches
  for (let i = 0; i < 3; i++) await timedGet(server, cookies[c.who]!, c.path(rounds + i), 'warm', c.check);
  const ids: string[] = [];
  const client: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const { id, clientMs } = await timedGet(server, cookies[c.who]!, c.path(i), c.name.replace(/\W+/g, '_'), c.check);
    ids.push(id);
    client.push(clientMs);
  }
  return figures(await serverTimes(server, ids), client);
}

/** CLIENTS loops at once over `paths` for `seconds`, each on its keep-alive connection. */
async function concurrent(server: Server, cookie: string, paths: (i: number) => string, check: Case['check']): Promise<Figures & { rps: number }> {
  const ids: string[] = [];
  const client: number[] = [];
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let next = 0;
  const loop = async () => {
    while (performance.now() < until) {
      const { id, clientMs } = await timedGet(server, cookie, paths(next++), 'load', check);
      ids.push(id);
      client.push(clientMs);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  return { ...figures(await serverTimes(server, ids), client), rps: Math.round((ids.length / elapsed) * 10) / 10 };
}

function uptime(): string {
  try {
    return execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    return 'uptime unavailable';
  }
}

// --- the run

const place = await placeFor();
let server: Server | undefined;
try {
  const loadBefore = uptime();
  const store = await openStore(place.url);
  let build: BuildFigures | null;
  let caughtUp: Preparation['caughtUp'];
  let passwords: Record<string, string>;
  try {
    ({ build, caughtUp } = await ensureArchive(store));
    // said at once: a run stopped while it measures still tells what the build took
    if (build) process.stderr.write(`built: ${JSON.stringify(build)}\n`);
    passwords = await prepareUsers(store);
  } finally {
    await store.close();
  }
  server = await startServer(place);
  const cookies = { admin: await signIn(server.base, ADMIN, passwords[ADMIN]!), viewer: await signIn(server.base, VIEWER, passwords[VIEWER]!) };
  const loadAtStart = uptime();

  // the busy conversation holds message n when n % 10 == 0; its msgids and times follow from n
  const bigCount = Math.ceil(messages / 10);
  const bigMsgid = (k: number) => `benchapi${String(k * 10).padStart(8, '0')}`;
  const bigTime = (k: number) => START + k * 10 * SPACING_MS;
  // the same sequence of picks in every run
  const rng = seededRng('bench-api-requests');
  const conv = `/api/corps/${BENCH_CORP}/conversations/${encodeURIComponent(BIG_CONVERSATION)}/messages`;
  const fullPage = (b: Body) => (b.messages?.length === PAGE ? undefined : `a page of ${b.messages?.length} messages, not ${PAGE}`);
  const someHits = (b: Body) => ((b.hits?.length ?? 0) > 0 ? undefined : 'no search hits');
  const listPage = (b: Body) => (b.conversations?.length === PAGE ? undefined : `a list of ${b.conversations?.length}, not ${PAGE}`);
  const list = `/api/corps/${BENCH_CORP}/conversations?limit=${PAGE}`;
  const middle = () => `${conv}?limit=${PAGE}&at=${bigTime(Math.floor(bigCount / 4) + rng.int(Math.floor(bigCount / 2)))}`;
  const around = () => `${conv}?limit=${PAGE}&around=${bigMsgid(PAGE + rng.int(bigCount - 2 * PAGE))}`;
  const end = () => `${conv}?limit=${PAGE}`;
  // two-character terms, as most Chinese searches are: one of five rare ones in turn (each in about
  // 0.3% of texts) and a common one (in about 8%; bench/support/chat-text.ts)
  const search = (term: string) => `/api/search?corp=${BENCH_CORP}&limit=${PAGE}&q=${encodeURIComponent(term)}`;
  const rare = (i: number) => search(RARE_WORDS[i % RARE_WORDS.length]!);
  const common = () => search(COMMON_WORD);
  // the viewer's answer may be empty for a rare term on a small archive, but it is a search answer
  const searchAnswer = (b: Body) => (Array.isArray(b.hits) ? undefined : 'not a search answer');
  // the first page with its count, as the web UI asks for them
  const commonCounted = () => `${common()}&count=true`;
  const hitsCounted = (b: Body) => someHits(b) ?? (typeof b.count?.n === 'number' ? undefined : 'no count');
  const cases: Case[] = [
    { name: 'conversation list (first page)', who: 'admin', path: () => list, check: listPage },
    { name: 'messages: start (at= first)', who: 'admin', path: () => `${conv}?limit=${PAGE}&at=${bigTime(0)}`, check: fullPage },
    { name: 'messages: middle (at=)', who: 'admin', path: middle, check: fullPage },
    { name: 'messages: end (newest page)', who: 'admin', path: end, check: fullPage },
    { name: 'messages: around=', who: 'admin', path: around, check: fullPage },
    { name: 'search: rare term', who: 'admin', path: rare, check: someHits },
    { name: 'search: common term', who: 'admin', path: common, check: someHits },
    { name: 'search: common term with its count', who: 'admin', path: commonCounted, check: hitsCounted },
    { name: 'viewer: conversation list', who: 'viewer', path: () => list, check: listPage },
    { name: 'viewer: messages end', who: 'viewer', path: end, check: fullPage },
    { name: 'viewer: search rare term', who: 'viewer', path: rare, check: searchAnswer },
    { name: 'viewer: search common term', who: 'viewer', path: common, check: someHits },
    { name: 'viewer: search common term with its count', who: 'viewer', path: commonCounted, check: hitsCounted },
  ];
  const results: Record<string, Figures> = {};
  for (const c of cases) {
    if (values['no-search'] && c.name.includes('search')) continue;
    results[c.name] = await runCase(server, cookies, c);
    process.stderr.write(`${c.name}: p95 ${results[c.name]!.p95} ms\n`);
  }
  const mixed = (i: number) => [end, middle, around][i % 3]!();
  const load = await concurrent(server, cookies.admin, mixed, fullPage);
  const loadAfter = uptime();

  const row = (name: string, f: Figures) => `| ${name} | ${f.p50} | ${f.p95} | ${f.max} | ${f.n} | ${f.client_p50} |`;
  const lines = [
    `bench:api ${new Date().toISOString()} · ${dialect} · ${messages} messages in ${build?.conversations ?? Math.max(10, Math.floor(messages / 50))} conversations (busy one: ${bigCount}) · ${availableParallelism()} cores · node ${process.version}`,
    build
      ? `build: load ${build.load_s} s, index ${build.index_s === null ? 'skipped (--no-search)' : `${build.index_s} s`}`
      : `build: reused (--reuse)${values['no-search'] ? ', search not measured (--no-search)' : caughtUp ? `, its ${caughtUp.messages} queued messages indexed first in ${caughtUp.index_s} s` : ''}`,
    `load: before ${loadBefore}`,
    `      serving ${loadAtStart}`,
    `      after ${loadAfter}`,
    '',
    '| route (server time, ms; audit row included) | p50 | p95 | max | n | client p50 |',
    '|---|---|---|---|---|---|',
    ...Object.entries(results).map(([name, f]) => row(name, f)),
    row(`messages, ${CLIENTS} clients at once (end, middle, around)`, load),
    '',
    `messages route, ${CLIENTS} concurrent clients for ${seconds} s: ${load.rps} requests/s`,
  ];
  console.log(lines.join('\n'));
  console.log(
    JSON.stringify({
      dialect,
      messages,
      build,
      caught_up: caughtUp,
      uptime: { before: loadBefore, serving: loadAtStart, after: loadAfter },
      cases: results,
      concurrent: { clients: CLIENTS, seconds, ...load },
    }),
  );
} finally {
  agent.destroy();
  if (server) {
    server.child.removeAllListeners('exit');
    server.child.kill('SIGTERM');
    await new Promise((r) => server!.child.once('exit', r));
  }
  if (!values.reuse) await place.drop();
}
