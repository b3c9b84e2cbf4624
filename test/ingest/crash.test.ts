import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/server.ts';
import { openStore } from '../../src/store/open-store.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { archiveEnv, spawnArchive } from '../support/archive-process.ts';
import { rowCount } from '../support/corp-rows.ts';
import { addSimulatorCorp, appOn, expectEnvelopesDecrypted } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const MESSAGES = 25_000;
const KILLS = 20;
/** how long an odd-numbered kill waits at most for the run to commit decrypted messages */
const DECRYPT_WAIT_MS = 120_000;
/** the kill times are drawn from this seed: `CRASH_SEED=… npx vitest run test/ingest/crash.test.ts` replays them */
const SEED = testSeed('CRASH_SEED', 'crash test kill times');

describeEachDialect('crash safety', ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`survives ${KILLS} SIGKILLs during ingest: every message archived exactly once, cursor never back`, async () => {
    // each database gets the same kill times from the seed, whatever order they run in
    const rng = seededRng(SEED);
    const sim = await startSimulator({ messages: MESSAGES, seed: 'crash' });
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      const app = appOn(store);
      await addSimulatorCorp(app, sim, { limit: 500 });
      // The same master key appOn uses, so the child processes open the same sealed secrets.
      // media downloads off: this test is about ingest (media crash safety: test/media/media-crash.test.ts)
      const env = archiveEnv({ WECOM_ARCHIVE_DB: dbUrl, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_LOG_LEVEL: 'error', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' });
      const cursors: bigint[] = [];
      const counts: number[] = [];
      const decrypted = () => rowCount(store.db, 'messages');
      for (let k = 0; k < KILLS; k++) {
        const { child, exited, alive, log } = spawnArchive(['run', '--port', '0', '--poll-interval', '0.2'], env);
        if (k % 2 === 0) {
          // any moment, start-up included
          await new Promise((r) => setTimeout(r, 300 + rng.float() * 2500));
        } else {
          // a random moment once this run has committed decrypted messages: however slow the machine,
          // this lands mid-ingest (envelopes alone would not do: a slow run may store pages for long
          // before its first decrypted commit)
          const before = await decrypted();
          for (const t0 = Date.now(); alive() && before < MESSAGES && (await decrypted()) === before && Date.now() - t0 < DECRYPT_WAIT_MS;)
            await new Promise((r) => setTimeout(r, 50));
          await new Promise((r) => setTimeout(r, rng.float() * 800));
        }
        child.kill('SIGKILL');
        const code = await exited;
        expect(code, `seed ${SEED}, kill ${k}: ${log()}`).toBe(null); // killed, not crashed on its own
        const cursor = await store.db.selectFrom('cursors').select('seq').where('corpid', '=', sim.corp.corpid).executeTakeFirstOrThrow();
        cursors.push(decodeSeq(cursor.seq));
        counts.push(await decrypted());
      }
      for (let i = 1; i < cursors.length; i++) expect(cursors[i]! >= cursors[i - 1]!, `seed ${SEED}: cursors ${cursors.join(', ')}`).toBe(true);
      // The kills landed while work was in progress, not only after it was done.
      expect(counts.filter((n) => n > 0 && n < MESSAGES).length, `seed ${SEED}: messages after each kill ${counts.join(', ')}`).toBeGreaterThanOrEqual(3);

      const final = spawnArchive(['run', '--once'], env);
      expect(await final.exited, final.log()).toBe(0);

      const rows = await store.db.selectFrom('messages').select(['msgid', 'seq', 'raw']).where('corpid', '=', sim.corp.corpid).orderBy('seq').execute();
      expect(rows.length, `seed ${SEED}`).toBe(MESSAGES);
      for (const [i, row] of rows.entries()) {
        expect(row.msgid).toBe(sim.msgidOf(i));
        expect(decodeSeq(row.seq)).toBe(sim.seqOf(i));
        expect(Buffer.from(row.raw).equals(sim.plaintextOf(i))).toBe(true);
      }
      await expectEnvelopesDecrypted(store.db, sim.corp.corpid, MESSAGES);
    } finally {
      await store.close();
      await sim.close();
    }
  }, 900_000);
});
