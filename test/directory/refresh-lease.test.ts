/**
 * The directory refresh queue is claimed id by id with a lease, on every database: two processes
 * working one queue at once (a `run` and a `serve`) describe each id once; an id whose holder died on
 * this host is taken over at once; an event that asks again while an id is being described keeps it
 * queued.
 */
import { expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { DirectorySync } from '../../src/directory/directory-sync.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import type { Store } from '../../src/store/open-store.ts';
import { ApiClients } from '../../src/wecom-api/api-clients.ts';
import { addSimulatorCorpWithCallbacks, appWithEnv, FAST_API_POLICY } from '../callbacks/harness.ts';
import { useCleanups } from '../support/cleanups.ts';
import { describeEachDialect } from '../support/databases.ts';

const defer = useCleanups();

const POLICY = { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 100, missingSecretDelayMs: 60_000 };

/** One directory worker as a process has it: its own lease owner, API clients and connection pool. */
async function worker(store: Store, corpid: string) {
  const app = appWithEnv(store);
  const clients = new ApiClients(app.apiSettings, { policy: FAST_API_POLICY });
  defer(() => clients.close());
  const directoryStore = new DirectoryStore(store.db, store.dialect);
  const sync = new DirectorySync({ store: directoryStore, log: createLogger('silent'), now: Date.now }, POLICY);
  return { sync, directoryStore, client: await clients.client(corpid) };
}

async function setup(open: () => Promise<Store>, seed: string) {
  const sim: RunningSimulator = await startSimulator({ messages: 0, seed });
  defer(() => sim.close());
  const store = await open();
  await addSimulatorCorpWithCallbacks(appWithEnv(store), sim);
  return { sim, store, corpid: sim.corp.corpid, userids: [...sim.api.data.members.keys()] };
}

describeEachDialect('directory refresh queue lease', ({ open }) => {
  it('two workers on one queue describe each id once', async () => {
    const { sim, store, corpid, userids } = await setup(open, 'refresh-lease-two');
    expect(userids.length).toBeGreaterThanOrEqual(20);
    const [a, b] = [await worker(store, corpid), await worker(store, corpid)];
    await a.directoryStore.enqueueMany(corpid, 'member', userids, 'seen');

    const before = sim.api.calls.get('/cgi-bin/user/get') ?? 0;
    // both look at the queue at the same moment, as a `run` and a `serve` do
    const handled = await Promise.all([a.sync.processQueue(corpid, a.client, 1000), b.sync.processQueue(corpid, b.client, 1000)]);
    expect((sim.api.calls.get('/cgi-bin/user/get') ?? 0) - before).toBe(userids.length);
    expect(handled[0]! + handled[1]!).toBe(userids.length);
    expect(await store.db.selectFrom('dir_refresh_queue').selectAll().execute()).toEqual([]);
    const named = await store.db.selectFrom('dir_members').select('userid').where('corpid', '=', corpid).where('name', 'is not', null).execute();
    expect(named.map((m) => m.userid).sort()).toEqual([...userids].sort());
  });

  it('leaves ids another live process holds, takes over those of a dead process of this host, and keeps an id asked for again while described', async () => {
    const { store, corpid, userids } = await setup(open, 'refresh-lease-rules');
    const w = await worker(store, corpid);
    const [held, orphaned, renewed, heldHere] = userids;
    await w.directoryStore.enqueueMany(corpid, 'member', [held!, orphaned!, renewed!, heldHere!], 'seen');
    const lease = (id: string, owner: string) =>
      store.db
        .updateTable('dir_refresh_queue')
        .set({ lease_owner: owner, lease_until: Date.now() + 600_000 })
        .where('corpid', '=', corpid)
        .where('entity_id', '=', id)
        .execute();
    const otherHost = 'elsewhere/4242/0123456789ab';
    await lease(held!, otherHost);
    // a process of this host that is gone (pid 2^22 + 1 is above Linux's pid_max)
    await lease(orphaned!, `${w.sync.owner.split('/')[0]}/4194305/0123456789ab`);
    // a live process of this host (this test's parent)
    const liveHere = `${w.sync.owner.split('/')[0]}/${process.ppid}/0123456789ab`;
    await lease(heldHere!, liveHere);

    const { claimed, heldElsewhere } = await w.directoryStore.claimRefreshes(corpid, w.sync.owner, 10, 60_000);
    expect(claimed.map((r) => r.entity_id).sort()).toEqual([orphaned!, renewed!].sort());
    expect(heldElsewhere).toBe(1); // the live one of this host; the other host's lease is not even a candidate
    // an event asks for `renewed` again while it is being described: the description in flight
    // (fetched before the change) must not take the new request off the queue
    await w.directoryStore.enqueue(corpid, 'member', renewed!, 'event', { force: true });
    await w.directoryStore.refreshDone(corpid, 'member', renewed!, w.sync.owner);
    await w.directoryStore.refreshDone(corpid, 'member', orphaned!, w.sync.owner);
    const left = await store.db.selectFrom('dir_refresh_queue').select(['entity_id', 'lease_owner']).where('corpid', '=', corpid).orderBy('entity_id').execute();
    expect(left).toEqual(
      [
        { entity_id: held!, lease_owner: otherHost },
        { entity_id: renewed!, lease_owner: null },
        { entity_id: heldHere!, lease_owner: liveHere },
      ].sort((x, y) => (x.entity_id < y.entity_id ? -1 : 1)),
    );
  });
});
