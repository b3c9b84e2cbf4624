import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { startSimulator } from '../../src/simulator/server.ts';
import { openStore } from '../../src/store/open-store.ts';
import { archiveEnv, spawnArchive } from '../support/archive-process.ts';
import { addSimulatorCorp, appOn } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';
import { blobBytes, media, message, ref } from './media-support.ts';

const KILLS = 2;
const SEED = testSeed('MEDIA_CRASH_SEED', 'media crash test kill times');

describeEachDialect('media crash safety', ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-media-crash-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it(`resumes a download after SIGKILL at the last committed chunk: ${KILLS} kills, no byte missing or repeated`, async () => {
    // each database gets the same kill times from the seed, whatever order they run in
    const rng = seededRng(SEED);
    const sim = await startSimulator({ messages: 0, seed: 'media-crash' });
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      // the largest ordinary file of the pool: a few MB, a dozen chunks; each chunk served slowly
      const pool = sim.sim.media;
      const [kind, blob] = (['mp4', 'zip'] as const)
        .flatMap((k) => [0, 1, 2].map((b) => [k, b] as const))
        .reduce((a, b) => (pool.size(b[0], b[1]) > pool.size(a[0], a[1]) ? b : a));
      const big = ref(sim, kind, blob);
      const small = ref(sim, 'jpg', 0);
      sim.appendFixtures([message('c-big', 'file', { file: media(big, { filename: 'big.bin' }) }), message('c-small', 'image', { image: media(small) })]);
      sim.injectFault('media:delay=120x*');
      const calls: Array<{ index: string; at: number }> = [];
      const real = sim.sim.getMediaData.bind(sim.sim);
      sim.sim.getMediaData = (id, index) => {
        if (id === big.sdkfileid) calls.push({ index, at: Date.now() });
        return real(id, index);
      };
      await addSimulatorCorp(appOn(store), sim);
      const env = archiveEnv({ WECOM_ARCHIVE_DB: dbUrl, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_LOG_LEVEL: 'error', WECOM_ARCHIVE_FFMPEG: 'off' });
      const job = () => store.db.selectFrom('media').select(['state', 'index_token', 'bytes_done', 'attempts', 'sha256']).where('msgid', '=', 'c-big').executeTakeFirst();

      // each process is killed mid-file; the next one must ask first for exactly the committed token
      let committed: Awaited<ReturnType<typeof job>>;
      for (let k = 0; k <= KILLS; k++) {
        const last = k === KILLS;
        const seen = calls.length;
        const { child, exited, log } = spawnArchive(last ? ['run', '--once'] : ['run', '--port', '0'], env);
        if (k > 0) {
          for (const t0 = Date.now(); calls.length === seen && Date.now() - t0 < 60_000;) await new Promise((r) => setTimeout(r, 20));
          expect(calls[seen]!.index, `process ${k + 1} resumes at the committed chunk`).toBe(committed!.index_token);
        }
        if (last) {
          expect(await exited, log()).toBe(0);
          break;
        }
        const before = await job();
        // wait until this process has committed at least one more chunk, then kill it mid-file
        for (const t0 = Date.now(); ;) {
          const now = await job();
          if (now && now.state === 'downloading' && Number(now.bytes_done) > Number(before?.bytes_done ?? 0)) break;
          if (Date.now() - t0 > 60_000) throw new Error(`no progress: ${log()}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        await new Promise((r) => setTimeout(r, rng.float() * 150));
        child.kill('SIGKILL');
        expect(await exited, log()).toBe(null);
        committed = await job();
        expect(Number(committed!.bytes_done)).toBeGreaterThan(0);
        expect(Number(committed!.bytes_done)).toBeLessThan(big.filesize);
      }

      const done = await job();
      const bytes = blobBytes(sim, big);
      // one download from zero in all: every later process went on from a committed chunk
      expect(done).toMatchObject({ state: 'done', attempts: 1, sha256: createHash('sha256').update(bytes).digest('hex') });
      const row = await store.db.selectFrom('media').select(['storage_key', 'size']).where('msgid', '=', 'c-big').executeTakeFirstOrThrow();
      expect(Number(row.size)).toBe(bytes.length);
      expect(readFileSync(join(dir, 'media', row.storage_key!)).equals(bytes)).toBe(true);
      expect(calls.filter((c) => c.index === '').length).toBe(1);
      expect(readdirSync(join(dir, 'media', '.partial'))).toEqual([]);
      const smallRow = await store.db.selectFrom('media').select(['state', 'sha256']).where('msgid', '=', 'c-small').executeTakeFirstOrThrow();
      expect(smallRow).toMatchObject({ state: 'done', sha256: createHash('sha256').update(blobBytes(sim, small)).digest('hex') });
    } finally {
      await store.close();
      await sim.close();
    }
  }, 240_000);
});
