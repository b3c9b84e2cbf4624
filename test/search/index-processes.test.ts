/**
 * The index stage as processes, the way it runs in production: `run` killed with SIGKILL while it
 * works through a large backlog, then run again; and `reindex` while a `run` process archives a
 * stream of new messages. Afterwards every message with searchable text is in the index exactly
 * once, nothing is left queued, and searches give what a scan of the stored messages gives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import { normalizeMessage, parseMessageJson } from '../../src/messages/normalize-message.ts';
import { messageRowOf } from '../../src/messages/message-row.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import { parseSearchQuery } from '../../src/search/query.ts';
import { countMatches } from '../../src/search/search-messages.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import type { Store } from '../../src/store/open-store.ts';
import { openStore } from '../../src/store/open-store.ts';
import { addSimulatorCorp, appOn } from '../support/archive-harness.ts';
import { archiveEnv, spawnArchive } from '../support/archive-process.ts';
import { runCli } from '../support/cli-runner.ts';
import { describeEachDialect } from '../support/databases.ts';
import { generatedPlaintexts } from '../support/generated-messages.ts';
import { allPages, bruteForce, EVERY_CANDIDATE, randomQuery, storedMessages, withText } from '../support/search-scan.ts';
import { useSimulators } from '../support/simulators.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const BACKLOG = 6_000;
const KILLS = 2;
const startSimulator = useSimulators();

async function count(store: Store, table: 'search_docs' | 'search_pending' | 'messages', corpid: string): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('corpid', '=', corpid)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function waitFor(what: string, done: () => Promise<boolean>, log: () => string, ms = 120_000): Promise<void> {
  for (const t0 = Date.now(); !(await done());) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Each message with text indexed once, none queued, and random searches equal to a scan. */
async function expectIndexedExactly(store: Store, corpid: string, seedName: string): Promise<void> {
  expect(await count(store, 'search_pending', corpid)).toBe(0);
  const corpus = await storedMessages(store.db, corpid);
  const docs = await store.db.selectFrom('search_docs').select('msgid').where('corpid', '=', corpid).execute();
  expect(docs.map((d) => d.msgid).sort()).toEqual(
    withText(corpus)
      .map((m) => m.msgid)
      .sort(),
  );
  const doubled = await sql<{ n: number }>`SELECT count(*) AS n FROM (SELECT corpid, msgid FROM search_docs GROUP BY corpid, msgid HAVING count(*) > 1) x`.execute(store.db);
  expect(Number(doubled.rows[0]!.n)).toBe(0);
  const rng = seededRng(testSeed('SEARCH_PROCESS_SEED', seedName));
  for (let n = 0; n < 30; n++) {
    const text = randomQuery(rng, corpus);
    const query = parseSearchQuery(text, { corpid });
    const expected = bruteForce(corpus, query);
    expect(await allPages(store.db, store.dialect, query, 200), text).toEqual(expected);
    expect(await countMatches(store.db, store.dialect, EVERYTHING, query, BACKLOG + 1, EVERY_CANDIDATE), text).toEqual({ count: expected.length, atLeast: false });
  }
}

describeEachDialect('index stage processes', ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-index-proc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`indexes a backlog of ${BACKLOG} messages once each though \`run\` is killed ${KILLS} times in the middle of it`, async () => {
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      const sim = await startSimulator({ messages: 0, seed: 'index-crash' });
      const corpid = sim.corp.corpid;
      await addSimulatorCorp(appOn(store), sim);
      // an archive of messages stored and queued, as the decrypt stage leaves them, not indexed yet
      const plaintexts = await generatedPlaintexts('index-crash', BACKLOG);
      for (let i = 0; i < BACKLOG; i += 500) {
        const rows = plaintexts.slice(i, i + 500).map((raw, k) => {
          const m = normalizeMessage(parseMessageJson(raw.toString('utf8')), `crash-${i + k}`);
          return messageRowOf(corpid, encodeSeq(BigInt(1_000_000 + i + k)), m, raw, 1);
        });
        await store.db.transaction().execute(async (trx) => {
          await trx.insertInto('messages').values(rows).execute();
          await trx
            .insertInto('search_pending')
            .values(rows.map((r) => ({ corpid, msgtime: r.msgtime, msgid: r.msgid, queued_at: 1 })))
            .execute();
        });
      }
      const env = archiveEnv({ WECOM_ARCHIVE_DB: dbUrl, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_LOG_LEVEL: 'error', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' });

      for (let k = 0; k < KILLS; k++) {
        const before = await count(store, 'search_docs', corpid);
        const { child, exited, log } = spawnArchive(['run', '--port', '0'], env);
        // killed as soon as it has committed an index batch, which is most likely while it writes the next
        await waitFor('an index batch committed', async () => (await count(store, 'search_docs', corpid)) > before, log);
        child.kill('SIGKILL');
        expect(await exited, log()).toBe(null);
        const left = await count(store, 'search_pending', corpid);
        expect(left, 'killed in the middle of the backlog').toBeGreaterThan(0);
        expect(left + (await count(store, 'search_docs', corpid))).toBeLessThanOrEqual(BACKLOG);
      }
      // how far behind the index is, as `status` and a search say it
      const left = await count(store, 'search_pending', corpid);
      const cli = (args: string[]) => runCli(['--db', dbUrl, ...args], { cwd: dir, env });
      const shown = await cli(['status', '--json']);
      expect(JSON.parse(shown.stdout).corps).toEqual([expect.objectContaining({ corpid, notIndexed: left })]);
      expect((await cli(['status'])).stdout).toContain(`search index: ${left} stored messages not indexed yet`);
      const searched = await cli(['search', '--corp', corpid, '--count', '的']);
      expect(searched.code, searched.stderr).toBe(0);
      expect(searched.stderr).toContain(`${left} stored messages are not indexed yet and were not searched`);

      const last = spawnArchive(['run', '--once'], env);
      expect(await last.exited, last.log()).toBe(0);
      await expectIndexedExactly(store, corpid, 'index crash queries');
    } finally {
      await store.close();
    }
  }, 300_000);

  it('reindexes while a `run` process archives a stream of new messages', async () => {
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      const sim = await startSimulator({ messages: 800, seed: 'reindex-live' });
      const corpid = sim.corp.corpid;
      await addSimulatorCorp(appOn(store), sim, { limit: 200 });
      const env = archiveEnv({ WECOM_ARCHIVE_DB: dbUrl, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_LOG_LEVEL: 'error', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' });
      const run = spawnArchive(['run', '--port', '0', '--poll-interval', '1'], env);
      try {
        await waitFor('the first messages indexed', async () => (await count(store, 'search_docs', corpid)) > 0, run.log);
        // new messages keep arriving while the rebuild queues and indexes everything again
        let total = 800;
        const stream = setInterval(() => {
          sim.appendGenerated(25);
          total += 25;
        }, 50);
        const rebuild = spawnArchive(['reindex', '--corp', corpid], env);
        const code = await rebuild.exited;
        clearInterval(stream);
        expect(code, rebuild.log()).toBe(0);
        expect(total).toBeGreaterThan(800);
        await waitFor(
          'every message archived and indexed',
          async () => (await count(store, 'messages', corpid)) === total && (await new IndexRepository(store.db, store.dialect).backlog(corpid)).length === 0,
          run.log,
        );
      } finally {
        run.child.kill('SIGTERM');
        expect(await run.exited, run.log()).toBe(0);
      }
      await expectIndexedExactly(store, corpid, 'reindex live queries');
    } finally {
      await store.close();
    }
  }, 300_000);
});
