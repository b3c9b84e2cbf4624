import { beforeAll, expect, it } from 'vitest';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { openStore } from '../../src/store/open-store.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { appOn, expectArchivedExactly, expectEnvelopesDecrypted } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { buildFinanceDouble } from './build-double.ts';
import { addNativeCorp, withDoubleEnv } from './native-support.ts';
import { runCli } from '../support/cli-runner.ts';
import { useSimulators } from '../support/simulators.ts';

let lib: string;
beforeAll(async () => {
  lib = await buildFinanceDouble();
});

const simulator = useSimulators();

/**
 * One CLI command through `main()`, as bin/wecom-archive runs it, with the double's settings in the
 * environment its SDK hosts inherit; what it printed.
 */
async function cli(sim: RunningSimulator, dbUrl: string, faults: Record<string, string>, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env = { WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32), WECOM_ARCHIVE_DATA_DIR: '/tmp', WECOM_ARCHIVE_LOG_LEVEL: 'silent', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' };
  const { code, stdout, stderr } = await withDoubleEnv(sim, faults, () => runCli([...args, '--db', dbUrl], { cwd: '/tmp', env }));
  return { code, out: stdout.trimEnd(), err: stderr.trimEnd() };
}

describeEachDialect('run --once while the native DecryptData keeps failing', ({ url }) => {
  it('ends within its retry time with exit 1 and what waits and why, keeps everything stored, and decrypts it all once the SDK recovers', async () => {
    const sim = await simulator({ messages: 38, seed: 'native-decrypt-10003' });
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      await addNativeCorp(appOn(store), sim, lib);
      // every DecryptData answers 10003 (system failure), as the library did for three runs
      const failing = { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_RET: '10003' };
      for (let run = 0; run < 3; run++) {
        // a retry time long enough for a second try (the first is due 5 s after the first failure)
        const once = await cli(sim, dbUrl, failing, ['run', '--once', '--retry-for', run === 0 ? '8' : '1']);
        expect(once.code, once.err).toBe(1);
        expect(once.err).toContain(`${sim.corp.corpid}: 38 envelopes left waiting (stored, not decrypted):`);
        expect(once.err).toMatch(/38 × SDK error 10003 \(system failure\); oldest stored \d+s ago \(38 under 1 h\); retried by itself, next try in \d+s/);
        const [status] = await corpStatuses(store.db, Date.now());
        expect(status).toMatchObject({
          messages: 0,
          pending: 0,
          cursorSeq: sim.seqOf(37).toString(),
          waiting: [{ reason: 'sdk_error', code: 10003, count: 38, retry: 'automatic' }],
        });
        if (run === 0) {
          // tried at once and again 5 s later; the third try (10 s after the second) was past its 8 s
          const tries = await store.db.selectFrom('envelopes').select('attempts').distinct().execute();
          expect(tries.map((t) => Number(t.attempts))).toEqual([2]);
        }
      }

      // the library recovers; the operator does not wait for the backoff
      const retried = await cli(sim, dbUrl, {}, ['decrypt', 'retry']);
      expect(retried).toMatchObject({ code: 0, out: `${sim.corp.corpid}: 38 waiting envelopes queued again; \`wecom-archive run\` decrypts them` });
      const recovered = await cli(sim, dbUrl, {}, ['run', '--once']);
      expect(recovered.code, recovered.err).toBe(0);
      expect(recovered.err).not.toContain('left waiting');
      await expectArchivedExactly(appOn(store), sim, 38);
      await expectEnvelopesDecrypted(store.db, sim.corp.corpid, 38);
    } finally {
      await store.close();
    }
  });
});
