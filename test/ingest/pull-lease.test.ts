import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { runArchive } from '../../src/app/archive-runner.ts';
import { PullLease } from '../../src/pull/pull-lease.ts';
import type { CorpProgress } from '../../src/archiver/corp-archiver.ts';
import type { CorpConfig } from '../../src/corps/corp-registry.ts';
import { PullLeaseLostError, pullPage } from '../../src/pull/pull-page.ts';
import { createSimulatorBackend } from '../../src/sdk/simulator-backend.ts';
import type { SdkBackend } from '../../src/sdk/backend.ts';
import { newLeaseOwner } from '../../src/store/lease-owner.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { addSimulatorCorp, appOn, expectArchivedExactly, FAST_TIMING } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { deadOwnerHere } from '../support/dead-owner.ts';
import { useSimulators } from '../support/simulators.ts';
import { rowCount } from '../support/corp-rows.ts';

const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
});
// after the hook above, so that (hooks running last-registered first) simulators close before stores
const simulator = useSimulators();

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await check()); i++) {
    if (i > 600) throw new Error(`${what} did not happen`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One store and one simulated corp, registered in it. */
async function oneCorp(where: string, messages: number, seed: string) {
  const store = await openStore(where);
  stores.push(store);
  const app = appOn(store);
  const sim = await simulator({ messages, seed });
  await addSimulatorCorp(app, sim);
  return { store, app, sim, corpid: sim.corp.corpid };
}

describeEachDialect('pull lease', ({ url }) => {
  it('lets one process pull and decrypt a corp at a time; the cursor never moves back; another takes over when the holder stops', async () => {
    const where = await url();
    const [storeA, storeB] = [await openStore(where), await openStore(where)];
    stores.push(storeA, storeB);
    const [appA, appB] = [appOn(storeA), appOn(storeB)];
    const sim = await simulator({ messages: 1200, seed: 'pull-lease' });
    await addSimulatorCorp(appA, sim, { limit: 50 });
    const corpid = sim.corp.corpid;

    // every GetChatData call and every message given to DecryptData, by process
    const calls = { a: 0, b: 0 };
    const decrypted = { a: 0, b: 0 };
    const counting =
      (who: 'a' | 'b') =>
      (corp: CorpConfig): SdkBackend => {
        const inner = createSimulatorBackend({ url: sim.url, corpid: corp.corpid, secret: corp.secret });
        return {
          ...inner,
          getChatData: (req, signal) => {
            calls[who] += 1;
            return inner.getChatData(req, signal);
          },
          decryptData: (key, msg, signal) => {
            decrypted[who] += 1;
            return inner.decryptData(key, msg, signal);
          },
          decryptMany: undefined,
          close: () => inner.close(),
        };
      };
    // the cursor as a third party sees it, every few ms while both run
    const seen: bigint[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const row = await storeA.db.selectFrom('cursors').select('seq').where('corpid', '=', corpid).executeTakeFirst();
        if (row) seen.push(decodeSeq(row.seq));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const stopA = new AbortController();
    const stopB = new AbortController();
    const log = createLogger('silent');
    // the decrypt loops look for work every 20 ms, not only when their own pull stored some
    const timing = { ...FAST_TIMING, pullLeaseMs: 60_000, requeueIntervalMs: 20 };
    const runA = runArchive(appA, log, stopA.signal, { once: false, timing, createBackend: counting('a') });
    const runB = runArchive(appB, log, stopB.signal, { once: false, timing, createBackend: counting('b') });
    const count = () => rowCount(storeA.db, 'messages', corpid);
    try {
      await until('the first 1,200 messages', async () => (await count()) === 1200);
      // 24 full pages and more polls: all by one process
      const [holder, other] = calls.a > 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
      expect(calls[holder]).toBeGreaterThanOrEqual(25);
      expect(calls[other]).toBe(0);
      // and only it decrypts what it stores: the other would repeat the work
      expect(decrypted[holder]).toBe(1200);
      expect(decrypted[other]).toBe(0);
      const lease = await storeA.db.selectFrom('cursors').select(['lease_owner', 'lease_until']).where('corpid', '=', corpid).executeTakeFirstOrThrow();
      expect(lease.lease_owner).toMatch(new RegExp(`/${process.pid}/[0-9a-f]{12}$`));
      expect(Number(lease.lease_until)).toBeGreaterThan(Date.now());

      // the holder stops and gives the lease up: the other pulls what comes next at once
      (holder === 'a' ? stopA : stopB).abort();
      await (holder === 'a' ? runA : runB);
      sim.appendGenerated(300);
      await until('the next 300 messages', async () => (await count()) === 1500);
      expect(calls[other]).toBeGreaterThan(0);
      (other === 'a' ? stopA : stopB).abort();
      await Promise.all([runA, runB]);
      expect(decrypted[other]).toBe(300);
    } finally {
      // a failed check must not leave the runs or the watcher on stores that are closed
      stopA.abort();
      stopB.abort();
      await Promise.allSettled([runA, runB]);
      watching = false;
      await watcher;
    }

    await expectArchivedExactly(appA, sim, 1500);
    expect(seen.length).toBeGreaterThan(10);
    for (let i = 1; i < seen.length; i++) expect(seen[i]! >= seen[i - 1]!, `cursor ${seen[i - 1]} then ${seen[i]}`).toBe(true);
    // both gave it up on their way out
    const after = await storeA.db.selectFrom('cursors').select(['lease_owner']).where('corpid', '=', corpid).executeTakeFirstOrThrow();
    expect(after.lease_owner).toBeNull();
  });

  it('decrypts nothing, from its first look on, while another process holds the pull with envelopes waiting; decrypts them when it takes the pull over', async () => {
    const { store, app, sim, corpid } = await oneCorp(await url(), 120, 'pull-lease-3');
    // another host's process pulled a page, holds the lease and has not decrypted yet
    const far = new PullLease(store.db, corpid, 'far-away-host/1234/0123456789ab', 60_000);
    expect(await far.acquire()).toEqual({ held: true });
    const backend = createSimulatorBackend({ url: sim.url, corpid, secret: sim.corp.secret });
    const corp = await app.corps.get(corpid);
    expect(await pullPage({ db: store.db, dialect: store.dialect, backend, now: Date.now }, corp, undefined, far.owner)).toMatchObject({ stored: 120 });
    await backend.close();

    let decrypted = 0;
    const counting = (c: CorpConfig): SdkBackend => {
      const inner = createSimulatorBackend({ url: sim.url, corpid: c.corpid, secret: c.secret });
      return {
        ...inner,
        decryptData: (key, msg, signal) => {
          decrypted += 1;
          return inner.decryptData(key, msg, signal);
        },
        decryptMany: undefined,
        close: () => inner.close(),
      };
    };
    const stop = new AbortController();
    const timing = { ...FAST_TIMING, pullLeaseMs: 60_000, requeueIntervalMs: 20 };
    let heldBy: string | undefined;
    const onProgress = (p: readonly CorpProgress[]) => {
      heldBy = p[0]?.pullHeldBy;
    };
    const run = runArchive(app, createLogger('silent'), stop.signal, { once: false, timing, createBackend: counting, onProgress, progressEveryMs: 10 });
    const messages = () => rowCount(store.db, 'messages', corpid);
    try {
      // it has heard who holds the pull; then several rounds of both loops
      await until('the answer to its first ask for the lease', async () => heldBy === far.owner);
      await new Promise((r) => setTimeout(r, 500));
      expect(decrypted).toBe(0);
      expect(await messages()).toBe(0);
      // the holder goes away: this process pulls and decrypts what it left
      await far.release();
      await until('the 120 waiting messages', async () => (await messages()) === 120);
      expect(decrypted).toBe(120);
    } finally {
      stop.abort();
      await run;
    }
    await expectArchivedExactly(app, sim, 120);
  });

  it('with --once is kept, renewed, until its holder has decrypted what it stored: another --once run meanwhile decrypts nothing', async () => {
    const where = await url();
    const [storeA, storeB] = [await openStore(where), await openStore(where)];
    stores.push(storeA, storeB);
    const [appA, appB] = [appOn(storeA), appOn(storeB)];
    const sim = await simulator({ messages: 300, seed: 'pull-lease-once' });
    // a lease of 1.2 s (200 ms past each page plus the 1 s SDK timeout), renewed every 400 ms
    await addSimulatorCorp(appA, sim, { timeoutS: 1 });
    const corpid = sim.corp.corpid;
    const timing = { ...FAST_TIMING, pullLeaseMs: 200 };

    // A's DecryptData waits at the gate until the test opens it: A has pulled everything and decrypts
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const decrypted = { a: 0, b: 0 };
    const counting =
      (who: 'a' | 'b') =>
      (corp: CorpConfig): SdkBackend => {
        const inner = createSimulatorBackend({ url: sim.url, corpid: corp.corpid, secret: corp.secret });
        return {
          ...inner,
          decryptData: async (key, msg, signal) => {
            if (who === 'a') await gate;
            decrypted[who] += 1;
            return inner.decryptData(key, msg, signal);
          },
          decryptMany: undefined,
          close: () => inner.close(),
        };
      };
    const lease = () => storeA.db.selectFrom('cursors').select(['lease_owner', 'lease_until']).where('corpid', '=', corpid).executeTakeFirstOrThrow();
    const log = createLogger('silent');
    const runA = runArchive(appA, log, new AbortController().signal, { once: true, timing, createBackend: counting('a') });
    try {
      await until('A pulled all 300 envelopes', async () => (await rowCount(storeA.db, 'envelopes', corpid)) === 300);
      const taken = await lease();
      expect(taken.lease_owner).not.toBeNull();
      // longer than two leases: one not renewed would have ended
      await new Promise((r) => setTimeout(r, 2_500));
      const kept = await lease();
      expect(kept.lease_owner).toBe(taken.lease_owner);
      expect(Number(kept.lease_until)).toBeGreaterThan(Number(taken.lease_until));

      const [b] = await runArchive(appB, log, new AbortController().signal, { once: true, timing, createBackend: counting('b') });
      expect(b).toMatchObject({ pullHeldBy: taken.lease_owner, messages: 0 });
      expect(decrypted.b).toBe(0);
    } finally {
      openGate();
    }
    const [a] = await runA;
    expect(a).toMatchObject({ envelopes: 300, messages: 300 });
    expect(decrypted).toEqual({ a: 300, b: 0 });
    // given up once A was done
    expect((await lease()).lease_owner).toBeNull();
    await expectArchivedExactly(appA, sim, 300);
  });

  it('is taken over at once from a dead process of this host, from another host only when it ends; a page without it commits nothing', async () => {
    const { store, app, sim, corpid } = await oneCorp(await url(), 40, 'pull-lease-2');
    const set = (owner: string | null, until: number | null) =>
      store.db.updateTable('cursors').set({ lease_owner: owner, lease_until: until }).where('corpid', '=', corpid).execute();
    const holderOf = async () => (await store.db.selectFrom('cursors').select('lease_owner').where('corpid', '=', corpid).executeTakeFirstOrThrow()).lease_owner;
    const me = new PullLease(store.db, corpid, newLeaseOwner(), 60_000);

    // a process of this host that is gone, with most of its lease left
    const dead = deadOwnerHere();
    await set(dead, Date.now() + 60_000);
    expect(await me.acquire()).toEqual({ held: true });
    expect(await holderOf()).toBe(me.owner);

    // another host's process: held until its lease ends
    await set('far-away-host/1234/0123456789ab', Date.now() + 60_000);
    expect(await me.acquire()).toMatchObject({ held: false, holder: { owner: 'far-away-host/1234/0123456789ab' } });
    await me.release(); // not this process's lease: left alone
    expect(await holderOf()).toBe('far-away-host/1234/0123456789ab');

    // a page pulled without the lease stores nothing and leaves the cursor
    const backend = createSimulatorBackend({ url: sim.url, corpid, secret: sim.corp.secret });
    const corp = await app.corps.get(corpid);
    await expect(pullPage({ db: store.db, dialect: store.dialect, backend, now: Date.now }, corp, undefined, me.owner)).rejects.toBeInstanceOf(PullLeaseLostError);
    expect(await rowCount(store.db, 'envelopes', corpid)).toBe(0);

    // once that lease has ended it is taken, and the page commits
    await set('far-away-host/1234/0123456789ab', Date.now() - 1);
    expect(await me.acquire()).toEqual({ held: true });
    const page = await pullPage({ db: store.db, dialect: store.dialect, backend, now: Date.now }, corp, undefined, me.owner);
    expect(page).toMatchObject({ stored: 40, cursor: sim.seqOf(39) });
    await backend.close();
    await me.release();
    expect(await holderOf()).toBeNull();
  });
});
