/**
 * Search on every dialect, against a brute-force scan: a generated corpus of every message type is
 * archived through the real path (simulator → pull → decrypt → index stage), then random queries
 * (CJK substrings of 1–4 characters, Latin words and prefixes, phrases, exclusions, filters) must
 * give, page by page, exactly the messages a scan of every stored message with matchesQuery gives,
 * in the same order. Replay a failure with SEARCH_INDEX_SEED.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import type { App } from '../../src/app/app.ts';
import { decryptWaiting } from '../../src/app/decrypt-waiting.ts';
import { indexDocs, messageTokens } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import { parseSearchQuery, type SearchFilters } from '../../src/search/query.ts';
import { countMatches, searchMessages } from '../../src/search/search-messages.ts';
import { textUnits } from '../../src/search/tokenize.ts';
import type { Rng } from '../../src/simulator/core/prng.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import type { SearchIndexSql } from '../../src/store/dialects/dialect.ts';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/cli-runner.ts';
import { addSimulatorCorp, appOn, archiveOnce, FAST_TIMING } from '../support/archive-harness.ts';
import { runArchive } from '../../src/app/archive-runner.ts';
import { createLogger } from '../../src/app/logger.ts';
import { reindexSearch } from '../../src/app/search-reindex.ts';
import { describeEachDialect } from '../support/databases.ts';
import { allPages, bruteForce, type StoredMessage, storedMessages } from '../support/search-scan.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const MESSAGES = 2_000;
const QUERIES = 320;

/** A term taken from a random message's text, so that most queries find something. */
function randomTerm(rng: Rng, corpus: readonly StoredMessage[]): string {
  for (;;) {
    const message = rng.pick(corpus);
    if (message.fields.length === 0) continue;
    const units = textUnits(rng.pick(message.fields));
    if (units.length === 0) continue;
    const at = rng.range(0, units.length - 1);
    const unit = units[at]!;
    const roll = rng.float();
    if (unit.kind === 'cjk') {
      // a run of 1–4 CJK characters written together, as they stand in the text
      let end = at + 1;
      const want = rng.range(1, 4);
      while (end < units.length && end - at < want && units[end]!.kind === 'cjk' && units[end]!.joined) end++;
      return units
        .slice(at, end)
        .map((u) => u.text)
        .join('');
    }
    if (roll < 0.2 && unit.text.length > 2) return `${unit.text.slice(0, rng.range(1, unit.text.length - 1))}*`;
    if (roll < 0.4 && at + 1 < units.length) return `"${units[at]!.text} ${units[at + 1]!.text}"`;
    return rng.chance(0.3) ? unit.text.toUpperCase() : unit.text;
  }
}

function randomFilters(rng: Rng, corpid: string, corpus: readonly StoredMessage[]): SearchFilters {
  const filters: Record<string, unknown> = { corpid };
  const other = rng.pick(corpus);
  if (rng.chance(0.15)) filters.conversationKey = other.conversation_key;
  if (rng.chance(0.1)) filters.fromIds = rng.chance(0.5) ? [other.from_id] : [other.from_id, rng.pick(corpus).from_id];
  if (rng.chance(0.15)) filters.msgtypes = [other.msgtype, rng.pick(corpus).msgtype];
  if (rng.chance(0.2)) {
    const times = [other.msgtime, rng.pick(corpus).msgtime].sort((a, b) => a - b);
    filters.since = times[0];
    filters.until = times[1]! + 1;
  }
  return filters as SearchFilters;
}

function randomQuery(rng: Rng, corpus: readonly StoredMessage[]): string {
  const terms = Array.from({ length: rng.range(1, 2) }, () => randomTerm(rng, corpus));
  if (rng.chance(0.25)) terms.push(`-${randomTerm(rng, corpus).replace(/^"|"$/g, '')}`);
  return terms.join(' ');
}

const sims: RunningSimulator[] = [];
afterAll(async () => {
  for (const sim of sims.splice(0)) await sim.close();
});

describeEachDialect('search', ({ open, url }) => {
  let app: App;
  let dbUrl: string;
  let sim: RunningSimulator;
  let corpus: StoredMessage[];

  beforeAll(async () => {
    dbUrl = await url();
    app = appOn(await openStore(dbUrl));
    sim = await startSimulator({ messages: MESSAGES, seed: 'search-corpus' });
    sims.push(sim);
    await addSimulatorCorp(app, sim, { limit: 1000 });
    const [progress] = await archiveOnce(app);
    expect(progress).toMatchObject({ state: 'ok', messages: MESSAGES });
    corpus = await storedMessages(app.store.db, sim.corp.corpid);
  }, 240_000);
  afterAll(() => app?.close());

  it('indexes every stored message with searchable text once, and leaves none queued', async () => {
    const repository = new IndexRepository(app.store.db, app.store.dialect);
    expect(await repository.backlog()).toEqual([]);
    const docs = await app.store.db
      .selectFrom('search_docs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const withText = corpus.filter((m) => m.fields.some((f) => textUnits(f).length > 0)).length;
    expect(withText).toBeGreaterThan(MESSAGES / 2);
    expect(Number(docs.n)).toBe(withText);
  });

  it(`answers ${QUERIES} random queries exactly as a scan of every message does, page by page`, async () => {
    const rng = seededRng(testSeed('SEARCH_INDEX_SEED', 'search index vs brute force'));
    let nonEmpty = 0;
    for (let n = 0; n < QUERIES; n++) {
      const text = randomQuery(rng, corpus);
      const query = parseSearchQuery(text, randomFilters(rng, sim.corp.corpid, corpus));
      const expected = bruteForce(corpus, query);
      if (expected.length > 0) nonEmpty += 1;
      const limit = rng.pick([7, 50, 1000]);
      expect(await allPages(app.store.db, app.store.dialect, query, limit), `query ${JSON.stringify(text)} ${JSON.stringify(query.filters)} limit ${limit}`).toEqual(expected);
      if (n % 8 === 0) expect(await countMatches(app.store.db, app.store.dialect, EVERYTHING, query)).toEqual({ count: expected.length, atLeast: false });
    }
    // most queries come from the corpus's own text: the comparison is not between empty answers
    expect(nonEmpty).toBeGreaterThan(QUERIES / 2);
  }, 300_000);

  it("asks each dialect's index for exactly the messages holding every token, prefixes included", async () => {
    const rng = seededRng(testSeed('SEARCH_INDEX_SEED', 'index holds all'));
    const rows = await app.store.db.selectFrom('messages').select(['msgid', 'raw']).execute();
    const tokenSets = new Map(rows.map((r) => [r.msgid, messageTokens(r.raw)]));
    const everyToken = [...new Set([...tokenSets.values()].flat())];
    for (let n = 0; n < 40; n++) {
      const tokens = Array.from({ length: rng.range(1, 3) }, () => {
        const token = rng.pick(everyToken);
        const prefix = rng.chance(0.3);
        return { token: prefix ? token.slice(0, rng.range(3, token.length)) : token, prefix };
      });
      const expected = [...tokenSets]
        .filter(([, set]) => tokens.every((t) => set.some((have) => (t.prefix ? have.startsWith(t.token) : have === t.token))))
        .map(([msgid]) => msgid);
      const found = await app.store.db.selectFrom('search_docs as d').select('d.msgid').where(app.store.dialect.search.holdsAll(tokens)).execute();
      expect(found.map((r) => r.msgid).sort(), JSON.stringify(tokens)).toEqual(expected.sort());
    }
  });

  it('search command: JSON lines with the next cursor, a count, and exit 2 on a bad query', async () => {
    const env = { WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32), WECOM_ARCHIVE_LOG_LEVEL: 'warn', WECOM_ARCHIVE_DATA_DIR: join(tmpdir(), 'wa-search-cli') };
    const cli = (args: string[]) => runCli(['--db', dbUrl, 'search', '--corp', sim.corp.corpid, ...args], { cwd: tmpdir(), env });
    const query = parseSearchQuery('的 -不', { corpid: sim.corp.corpid });
    const expected = bruteForce(corpus, query);
    expect(expected.length).toBeGreaterThan(3);
    // a query term starting with '-' follows `--`, as for any command line option parser
    const first = await cli(['--json', '--limit', '3', '--', '的', '-不']);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.msgid)).toEqual(expected.slice(0, 3));
    expect(lines[0]).toMatchObject({
      seq: expect.stringMatching(/^\d+$/),
      msgtime: expect.any(Number),
      from: expect.any(String),
      conversation: expect.any(String),
      msgtype: expect.any(String),
    });
    expect(lines[0].snippet.ranges.length).toBeGreaterThan(0);
    const second = await cli(['--json', '--limit', '3', '--after', lines[2].next, '--', '的', '-不']);
    expect(
      second.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).msgid),
    ).toEqual(expected.slice(3, 6));
    const table = await cli(['的']);
    expect(table.stdout).toContain('【的】');
    // the table's first page says how many match in all; a later page does not count again
    const all = bruteForce(corpus, parseSearchQuery('的', { corpid: sim.corp.corpid }));
    const firstTable = await cli(['--limit', '2', '的']);
    expect(firstTable.stderr).toMatch(new RegExp(`^2 messages of ${all.length} in all; next page: --after \\S+$`, 'm'));
    expect((await cli(['--limit', '1', '的'])).stderr).toMatch(new RegExp(`^1 message of ${all.length} in all; next page: --after \\S+$`, 'm'));
    const cursor = /--after (\S+)$/m.exec(firstTable.stderr)![1]!;
    const nextTable = await cli(['--limit', '2', '--after', cursor, '的']);
    expect(nextTable.stderr).toMatch(/^2 messages; next page: --after \S+$/m);
    const counted = await cli(['--count', '--', '的', '-不']);
    expect(counted.stdout.trim()).toBe(String(expected.length));
    const rebuilt = await runCli(['--db', dbUrl, 'reindex', '--corp', sim.corp.corpid], { cwd: tmpdir(), env });
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toContain(`reindexed ${MESSAGES} messages`);
    expect(rebuilt.stderr).toContain(`[####################] ${MESSAGES}/${MESSAGES} messages (100%)`);
    expect((await cli(['--count', '--', '的', '-不'])).stdout.trim()).toBe(String(expected.length));
    for (const bad of [['!!!'], ['--', '-的'], ['-的'], ['--limit', '5000', '的'], ['--after', 'xyz', '的'], ['--since', '2026-02-30', '的']]) {
      const refused = await cli(bad);
      expect(refused.code, bad.join(' ')).toBe(2);
      expect(refused.stderr).not.toMatch(/\n\s+at /);
    }
    // a mistyped corp is named, not answered with nothing found: by search and by reindex alike
    for (const command of [
      ['search', '--corp', 'wwNOPE', '的'],
      ['reindex', '--corp', 'wwNOPE'],
    ]) {
      const unknown = await runCli(['--db', dbUrl, ...command], { cwd: tmpdir(), env });
      expect(unknown.code, command.join(' ')).toBe(3);
      expect(unknown.stderr).toContain('corp wwNOPE is unknown: it is not configured and nothing of it is archived');
      expect(unknown.stdout).toBe('');
    }
    // so is a mistyped conversation or msgtype; a type WeCom sends that the corp has none of is an answer
    const noConversation = await cli(['--conversation', 'room:nosuch', '的']);
    expect(noConversation.code).toBe(3);
    expect(noConversation.stderr).toContain(`${sim.corp.corpid} has no conversation "room:nosuch": a conversation is room:ROOMID`);
    const noType = await cli(['--count', '--type', 'text,txt', '的']);
    expect(noType.code).toBe(2);
    expect(noType.stderr).toContain(`"txt": no message of ${sim.corp.corpid} has that msgtype, and WeCom sends none`);
    expect(noType.stdout).toBe('');
    const conversation = corpus.find((m) => m.conversation_key.startsWith('room:'))!.conversation_key;
    const inConversation = await cli(['--count', '--conversation', conversation, '--type', 'text,recall', '的']);
    expect(inConversation.code, inConversation.stderr).toBe(0);
    const expectedThere = bruteForce(corpus, parseSearchQuery('的', { corpid: sim.corp.corpid, conversationKey: conversation, msgtypes: ['text', 'recall'] }));
    expect(inConversation.stdout.trim()).toBe(String(expectedThere.length));
  });

  it('caps a count and refuses a cursor it did not give', async () => {
    const common = parseSearchQuery('的', { corpid: sim.corp.corpid });
    const all = bruteForce(corpus, common).length;
    expect(all).toBeGreaterThan(10);
    expect(await countMatches(app.store.db, app.store.dialect, EVERYTHING, common, 10)).toEqual({ count: 10, atLeast: true });
    await expect(searchMessages(app.store.db, app.store.dialect, EVERYTHING, common, { after: 'bm90IGEgY3Vyc29y' })).rejects.toMatchObject({ code: 'SEARCH_CURSOR_INVALID' });
  });

  it('loses nothing and doubles nothing when an indexing transaction fails half way', async () => {
    const repository = new IndexRepository(app.store.db, app.store.dialect);
    const before = await app.store.db
      .selectFrom('search_docs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    await repository.queueAll(sim.corp.corpid, Date.now());
    // the entries are written, then the batch dies before its queue rows are deleted
    const { search } = app.store.dialect;
    const writeThenDie: SearchIndexSql['writeDocs'] = async (trx, docs) => {
      await search.writeDocs(trx, docs);
      throw new Error('the process died here');
    };
    const dying = new IndexRepository(app.store.db, { ...app.store.dialect, search: { ...search, writeDocs: writeThenDie } });
    await expect(dying.indexBatch(300, indexDocs)).rejects.toThrow('the process died here');
    expect((await repository.backlog())[0]?.pending).toBe(MESSAGES);
    while ((await repository.indexBatch(300, indexDocs)) > 0);
    expect(await repository.backlog()).toEqual([]);
    const after = await app.store.db
      .selectFrom('search_docs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    const doubled = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT corpid, msgid FROM search_docs GROUP BY corpid, msgid HAVING count(*) > 1) x`.execute(app.store.db);
    expect(Number(doubled.rows[0]!.n)).toBe(0);
  });

  it('leaves stored messages queued with --search-index off, for the next run with it on', async () => {
    const store = await open();
    const small = await startSimulator({ messages: 60, seed: 'search-off' });
    sims.push(small);
    const off = appOn(store, { WECOM_ARCHIVE_SEARCH_INDEX: 'off' });
    await addSimulatorCorp(off, small);
    expect((await archiveOnce(off))[0]).toMatchObject({ state: 'ok', messages: 60 });
    const repository = new IndexRepository(store.db, store.dialect);
    expect(await repository.backlog()).toEqual([{ corpid: small.corp.corpid, pending: 60 }]);
    expect(await store.db.selectFrom('search_docs').select('msgid').execute()).toEqual([]);

    await archiveOnce(appOn(store));
    expect(await repository.backlog()).toEqual([]);
    const stored = await storedMessages(store.db, small.corp.corpid);
    const docs = await store.db.selectFrom('search_docs').select('msgid').execute();
    expect(docs.map((d) => d.msgid).sort()).toEqual(
      stored
        .filter((m) => m.fields.some((f) => textUnits(f).length > 0))
        .map((m) => m.msgid)
        .sort(),
    );
    await store.close();
  });

  it('indexes a message decrypted late, with a lower seq than messages indexed before it', async () => {
    const late = appOn(await open());
    // messages 0–39 need key 1, which is added only later: they are stored after 40–119
    const rotating = await startSimulator({ messages: 120, seed: 'search-late', keySchedule: '1:0,2:40' });
    sims.push(rotating);
    await addSimulatorCorp(late, rotating, { keyVersions: [2] });
    await archiveOnce(late);
    const early = await storedMessages(late.store.db, rotating.corp.corpid);
    expect(early.length).toBe(80);
    await late.keys.add(rotating.corp.corpid, 1, rotating.privateKeyPems.get(1)!);
    expect(await decryptWaiting(late, rotating.corp.corpid)).toMatchObject({ messages: 40, failures: 0 });
    // the next run finishes indexing what was stored meanwhile
    await archiveOnce(late);
    const all = await storedMessages(late.store.db, rotating.corp.corpid);
    expect(all.length).toBe(120);
    const lateOnes = all.filter((m) => !early.some((e) => e.msgid === m.msgid) && m.fields.some((f) => textUnits(f).length > 0));
    expect(lateOnes.length).toBeGreaterThan(0);
    for (const m of lateOnes) {
      const word = textUnits(m.fields.find((f) => textUnits(f).length > 0)!)[0]!.text;
      const query = parseSearchQuery(word, { corpid: rotating.corp.corpid });
      expect(await allPages(late.store.db, late.store.dialect, query, 1000)).toEqual(bruteForce(all, query));
      expect(await allPages(late.store.db, late.store.dialect, query, 1000)).toContain(m.msgid);
    }

    // a rebuild while the archive runs: everything is indexed once when both are done
    const stop = new AbortController();
    const running = runArchive(late, createLogger('silent'), stop.signal, { once: false, timing: FAST_TIMING, indexTiming: { idleMs: 20 } });
    expect(await reindexSearch(late, createLogger('silent'), undefined, new AbortController().signal, () => undefined)).toBe(120);
    stop.abort();
    await running;
    expect(await new IndexRepository(late.store.db, late.store.dialect).backlog()).toEqual([]);
    const docs = await late.store.db.selectFrom('search_docs').select('msgid').execute();
    expect(docs.length).toBe(all.filter((m) => m.fields.some((f) => textUnits(f).length > 0)).length);
    expect(new Set(docs.map((d) => d.msgid)).size).toBe(docs.length);
  }, 120_000);
});
