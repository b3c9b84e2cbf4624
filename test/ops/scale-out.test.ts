/**
 * Scale-out (issue 20, point 4): four real `run` processes share one PostgreSQL archive of 30
 * simulated corps while new messages keep arriving, and one of them is killed with SIGKILL. Then:
 * - nothing is lost and nothing is doubled: every corp's stored msgids are exactly the simulator's,
 *   each with its seq and plaintext, and one envelope each;
 * - the dead process's corps are taken over by the others once its pull leases lapse, within the
 *   lease time plus one poll interval of the kill (a bound of the protocol, not a speed target),
 *   and never before its leases ended.
 * Each process names itself after a host of its own (support/other-host.mjs), as processes on
 * several machines do: a dead holder on another host cannot be detected by its pid, so this is the
 * case where only the lease's expiry hands a corp over (test/ingest/pull-lease.test.ts covers the
 * take-over at once on the holder's own host).
 * PostgreSQL only, as the design names it the engine for scale-out; skipped without TEST_POSTGRES_URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { appOn } from '../support/archive-harness.ts';
import { type ArchiveProcess, archiveEnv, spawnArchive } from '../support/archive-process.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';
import { rsaPemPair } from '../support/rsa-pem.ts';
import { useSimulators } from '../support/simulators.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const CORPS = 30;
const PROCESSES = 4;
const POLL_S = 1;
/**
 * `run --max-corps`: leases are sticky, so without it the first process up takes every corp; with
 * it they spread, and three processes still have room for all 30 once one is gone
 */
const MAX_CORPS = 10;
/** `run --pull-lease`; the lease a page takes lasts this plus the corp's timeout */
const PULL_LEASE_S = 3;
const TIMEOUT_S = 10;
const LEASE_MS = (PULL_LEASE_S + TIMEOUT_S) * 1000;
/** new messages per second per corp while the processes run */
const RATE = 1;
const PRELOAD = new URL('../support/other-host.mjs', import.meta.url).pathname;

const startSimulator = useSimulators();

/** One observation of a corp's pull lease row. */
interface LeaseSeen {
  owner: string | null;
  until: number | null;
  at: number;
}

/** The host part of a lease owner (`host/pid/random`): here, which process holds it. */
const hostOf = (owner: string) => owner.split('/', 1)[0]!;

async function waitFor(what: string, done: () => Promise<boolean>, logs: () => string | Promise<string>, ms = 120_000): Promise<void> {
  for (const t0 = Date.now(); !(await done());) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms\n${await logs()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!process.env.TEST_POSTGRES_URL)('scale-out [postgres]', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-scale-out-'));
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`${PROCESSES} run processes on ${CORPS} corps, one killed: nothing lost or doubled, its corps taken over within the lease time plus a poll interval`, async () => {
    const rng = seededRng(testSeed('SCALE_OUT_SEED', 'scale-out'));
    database = await createTestDatabase('postgres');
    const store: Store = await openStore(database.url);
    const processes: ArchiveProcess[] = [];
    let watching = true;
    let watcher: Promise<void> = Promise.resolve();
    const logs = () => processes.map((p, i) => `--- process ${i}\n${p.log().slice(-2000)}`).join('\n');
    try {
      // one key pair for every corp: 30 RSA key generations would cost more than the test
      const keys = new Map([[1, rsaPemPair(2048, 'pkcs1').privateKey]]);
      const sims: RunningSimulator[] = [];
      for (let i = 0; i < CORPS; i++) sims.push(await startSimulator({ seed: `scale-out-${i}`, messages: 30 + rng.int(50), keys, rate: RATE }));
      // registered as `corp import` registers a simulator's file: one transaction for all of them
      await registerCorps(
        appOn(store),
        sims.map((sim) => simulatorCorp(sim, { limit: 10, timeoutS: TIMEOUT_S, apiSecrets: false, callbackApps: false })),
      );

      // every pull lease row, every 20 ms: a holder renews at most every 100 ms (one GetChatData
      // call per 100 ms and corp), so a take-over is seen before its first renewal
      const seen = new Map<string, LeaseSeen[]>();
      watcher = (async () => {
        while (watching) {
          const rows = await store.db.selectFrom('cursors').select(['corpid', 'lease_owner', 'lease_until']).execute();
          const at = Date.now();
          for (const r of rows) {
            const list = seen.get(r.corpid) ?? [];
            const until = r.lease_until === null ? null : Number(r.lease_until);
            const last = list.at(-1);
            if (!last || last.owner !== r.lease_owner || last.until !== until) list.push({ owner: r.lease_owner, until, at });
            seen.set(r.corpid, list);
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();

      const env = (k: number) =>
        archiveEnv({
          WECOM_ARCHIVE_DB: database!.url,
          WECOM_ARCHIVE_DATA_DIR: dir,
          WECOM_ARCHIVE_LOG_LEVEL: 'warn',
          WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0',
          NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${PRELOAD}`.trim(),
          TEST_HOSTNAME: `scale-host-${k}`,
        });
      for (let k = 0; k < PROCESSES; k++) {
        processes.push(spawnArchive(['run', '--port', '0', '--poll-interval', String(POLL_S), '--pull-lease', String(PULL_LEASE_S), '--max-corps', String(MAX_CORPS)], env(k)));
      }
      const holders = async () => {
        const rows = await store.db.selectFrom('cursors').select(['corpid', 'lease_owner', 'lease_until']).execute();
        const now = Date.now();
        return rows.filter((r) => r.lease_owner !== null && Number(r.lease_until) > now);
      };
      await waitFor(
        'every corp pulled by a process',
        async () => (await holders()).length === CORPS,
        async () => `${JSON.stringify(await store.db.selectFrom('cursors').selectAll().execute())}\n${logs()}`,
      );
      // a random moment while they pull (new messages keep arriving all along)
      await new Promise((resolve) => setTimeout(resolve, rng.float() * 1500));
      // (on a machine too loaded to renew them in time, leases lapse and pass on: wait for live ones)
      let held = await holders();
      await waitFor('live leases', async () => (held = await holders()).length > 0, logs);
      const byHost = new Map<string, string[]>();
      for (const r of held) byHost.set(hostOf(r.lease_owner!), [...(byHost.get(hostOf(r.lease_owner!)) ?? []), r.corpid]);
      // each process names its own host, so the preload took effect
      for (const host of byHost.keys()) expect(host).toMatch(/^scale-host-[0-3]$/);
      // and the corps are spread: no process pulls more than its limit
      for (const corps of byHost.values()) expect(corps.length).toBeLessThanOrEqual(MAX_CORPS);
      const victimHost = [...byHost.keys()][rng.int(byHost.size)]!;
      const victim = Number(victimHost.slice('scale-host-'.length));
      const victimCorps = new Set(byHost.get(victimHost));
      console.log(`corps held per process before the kill: ${JSON.stringify(Object.fromEntries([...byHost].map(([h, c]) => [h, c.length])))}; killing ${victimHost}`);
      const killedAt = Date.now();
      processes[victim]!.child.kill('SIGKILL');
      expect(await processes[victim]!.exited, logs()).toBe(null);

      await waitFor(
        "the dead process's corps held by others",
        async () => (await holders()).filter((r) => victimCorps.has(r.corpid) && hostOf(r.lease_owner!) !== victimHost).length === victimCorps.size,
        logs,
      );
      // no more new messages; every process catches up
      for (const sim of sims) sim.setRate(0);
      const expected = new Map(sims.map((sim) => [sim.corp.corpid, sim.sim.messageCount()]));
      const total = [...expected.values()].reduce((a, b) => a + b, 0);
      const stored = async () =>
        Number(
          (
            await store.db
              .selectFrom('messages')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      await waitFor(`all ${total} messages archived`, async () => (await stored()) >= total, logs);
      watching = false;
      await watcher;
      for (const [k, p] of processes.entries()) {
        if (k === victim) continue;
        p.child.kill('SIGTERM');
        expect(await p.exited, p.log()).toBe(0);
      }

      // nothing lost, nothing doubled: per corp, exactly the simulator's messages, one envelope each
      for (const sim of sims) {
        const corpid = sim.corp.corpid;
        const count = expected.get(corpid)!;
        const rows = await store.db.selectFrom('messages').select(['msgid', 'seq', 'raw']).where('corpid', '=', corpid).orderBy('seq').execute();
        expect(
          rows.map((r) => r.msgid),
          corpid,
        ).toEqual(Array.from({ length: count }, (_, i) => sim.msgidOf(i)));
        for (const [i, r] of rows.entries()) {
          expect(decodeSeq(r.seq)).toBe(sim.seqOf(i));
          expect(Buffer.from(r.raw).equals(sim.plaintextOf(i)), `${corpid} message ${i}`).toBe(true);
        }
        const envelopes = await store.db.selectFrom('envelopes').select('msgid').where('corpid', '=', corpid).execute();
        expect(envelopes.map((e) => e.msgid).sort(), corpid).toEqual(rows.map((r) => r.msgid).sort());
      }

      // the take-over, read from the lease rows: the taker wrote `lease_until` = the moment it took
      // the lease + LEASE_MS, and the watcher saw the row; either gives a moment no earlier than the take
      const takeovers: number[] = [];
      for (const corpid of victimCorps) {
        const list = seen.get(corpid)!;
        const first = list.findIndex((s) => s.owner !== null && hostOf(s.owner) !== victimHost && s.at >= killedAt);
        expect(first, corpid).toBeGreaterThan(0);
        const taken = list[first]!;
        const takenAt = Math.min(taken.at, taken.until! - LEASE_MS);
        // the dead holder's lease as last seen: it ended no later than LEASE_MS after the kill, and
        // nobody took the corp before it ended
        const dead = list
          .slice(0, first)
          .reverse()
          .find((s) => s.owner !== null && hostOf(s.owner) === victimHost)!;
        expect(dead.until!).toBeLessThanOrEqual(killedAt + LEASE_MS);
        expect(taken.until! - LEASE_MS, `${corpid} taken before the dead lease ended`).toBeGreaterThanOrEqual(dead.until!);
        takeovers.push(takenAt - killedAt);
      }
      console.log(`take-over after the kill, ms (lease ${LEASE_MS}, poll ${POLL_S * 1000}): ${takeovers.sort((a, b) => a - b).join(', ')}`);
      expect(Math.max(...takeovers)).toBeLessThan(LEASE_MS + POLL_S * 1000);
    } finally {
      watching = false;
      await watcher.catch(() => undefined);
      for (const p of processes) if (p.alive()) p.child.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      await store.close();
    }
  }, 300_000);
});
