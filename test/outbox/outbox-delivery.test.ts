import { expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { type App, createApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { createCallbackServices } from '../../src/app/callback-services.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { DeliveryStage, type DeliveryTiming } from '../../src/outbox/delivery-stage.ts';
import { recordEvents } from '../../src/outbox/outbox-writer.ts';
import { doublingBackoff } from '../../src/runtime/backoff.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { addSimulatorCorp, appOn, archiveOnce } from '../support/archive-harness.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';
import { useWebhookReceivers } from '../support/webhook-receiver.ts';

const startSim = useSimulators();
const receiver = useWebhookReceivers();

/** appOn without media downloads: only the first test needs them (for media_done events). */
function appWithoutMedia(store: Store): App {
  return createApp(loadConfig({}, { WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' }, '/tmp'), store, Buffer.alloc(32, 3));
}

const FAST: Partial<DeliveryTiming> = { pollMs: 5, batch: 7, maxAttempts: 3, backoff: doublingBackoff(1, 4), leaseMs: 10_000, sendTimeoutMs: 2_000 };

function stageOf(app: App, timing: Partial<DeliveryTiming> = FAST): DeliveryStage {
  const { db, dialect, health } = app.store;
  return new DeliveryStage({ db, dialect, health, log: createLogger('silent'), secretOf: (s) => app.sinks.secretOf(s), now: Date.now }, timing);
}

/** Runs `stages` until `done()` holds (or 20 s pass), then stops them. */
async function deliverUntil(stages: DeliveryStage[], done: () => boolean | Promise<boolean>): Promise<void> {
  const ctrl = new AbortController();
  const running = stages.map((s) => s.run(ctrl.signal));
  for (const t0 = Date.now(); !(await done()) && Date.now() - t0 < 20_000;) await new Promise((r) => setTimeout(r, 10));
  ctrl.abort();
  await Promise.all(running);
  await Promise.all(stages.map((s) => s.close()));
}

describeEachDialect('event outbox and webhook delivery', ({ open }) => {
  it('archived messages reach a webhook once each, signed, in seq order, ids and metadata only; delivered events leave the outbox', async () => {
    const app = appOn(await open());
    const sim = await startSim({ messages: 20, seed: 'outbox' });
    await addSimulatorCorp(app, sim);
    const hook = await receiver();
    const added = await app.sinks.add({ corpid: sim.corp.corpid, type: 'webhook', url: hook.url, includeContent: false });
    hook.setSecret(added.generatedSecret!);
    await archiveOnce(app);

    const messages = await app.store.db.selectFrom('messages').select(['msgid', 'seq', 'msgtype']).where('corpid', '=', sim.corp.corpid).orderBy('seq').execute();
    expect(messages.length).toBe(20);
    const recalls = messages.filter((m) => m.msgtype === 'revoke').length;
    // the media stage of the run stored the files: each is an event too
    const files = await app.store.db.selectFrom('media').select(['msgid', 'slot']).where('state', 'in', ['done', 'unverified']).execute();
    expect(files.length).toBeGreaterThan(0);
    const total = 20 + recalls + files.length;
    expect(
      Number(
        (
          await app.store.db
            .selectFrom('event_outbox')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ).toBe(total);
    // two processes share the sink: the lease lets one deliver at a time, so nothing is sent twice or out of order
    await deliverUntil([stageOf(app), stageOf(app)], () => hook.received.length >= total);
    await new Promise((r) => setTimeout(r, 50));

    expect(hook.received.every((r) => r.verified)).toBe(true);
    const seqs = hook.received.map((r) => r.body.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const delivered = hook.received.filter((r) => r.body.kind === 'message');
    expect(delivered.map((r) => r.body.data.msgid)).toEqual(messages.map((m) => m.msgid));
    expect(delivered.map((r) => r.body.data.seq)).toEqual(messages.map((m) => decodeSeq(m.seq).toString()));
    expect(delivered.every((r) => r.body.id === `${sim.corp.corpid}/${r.body.data.msgid}` && r.body.content === undefined)).toBe(true);
    expect(hook.received.filter((r) => r.body.kind === 'recall').length).toBe(recalls);
    const done = hook.received.filter((r) => r.body.kind === 'media_done').map((r) => `${r.body.data.msgid}/${r.body.data.slot}`);
    expect(done.sort()).toEqual(files.map((f) => `${f.msgid}/${f.slot}`).sort());
    expect(hook.received.length).toBe(total);

    const [summary] = await app.sinks.list();
    expect(summary).toMatchObject({ id: added.id, backlog: 0, deadLetters: 0, failures: 0 });
    const left = await app.store.db.selectFrom('event_outbox').select('id').execute();
    expect(left).toEqual([]);
  });

  it('a failing event is retried with backoff, then dead-lettered while delivery goes on; replay sends it; content is opt-in', async () => {
    const app = appWithoutMedia(await open());
    const sim = await startSim({ messages: 12, seed: 'outbox-dead' });
    await addSimulatorCorp(app, sim);
    let broken = true;
    const hook = await receiver((body) => (broken && body.seq === 4 ? 500 : 200));
    const added = await app.sinks.add({ corpid: sim.corp.corpid, type: 'webhook', url: hook.url, includeContent: true, secret: 'a-secret-of-the-receiver' });
    expect(added.generatedSecret).toBeUndefined();
    hook.setSecret('a-secret-of-the-receiver');
    await archiveOnce(app);
    const total = Number(
      (
        await app.store.db
          .selectFrom('event_outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(total).toBeGreaterThanOrEqual(12);

    await deliverUntil([stageOf(app)], () => hook.received.length >= total - 1);
    expect(hook.tries.get(4)).toBe(3);
    expect(hook.received.map((r) => r.body.seq)).toEqual([...Array(total).keys()].map((i) => i + 1).filter((s) => s !== 4));
    const msg = hook.received.find((r) => r.body.kind === 'message')!;
    const raw = await app.store.db.selectFrom('messages').select('raw').where('msgid', '=', msg.body.data.msgid).executeTakeFirstOrThrow();
    expect(msg.body.content).toEqual(JSON.parse(Buffer.from(raw.raw).toString('utf8')));
    expect((await app.sinks.list())[0]).toMatchObject({ backlog: 0, deadLetters: 1 });
    // the dead letter keeps its event
    expect((await app.store.db.selectFrom('event_outbox').select('seq').execute()).map((r) => Number(r.seq))).toEqual([4]);

    broken = false;
    expect(await app.sinks.replay(added.id)).toBe(1);
    await deliverUntil([stageOf(app)], () => hook.received.length >= total);
    expect(hook.received.at(-1)!.body.seq).toBe(4);
    expect((await app.sinks.list())[0]).toMatchObject({ backlog: 0, deadLetters: 0 });
  });

  it('events are written only for corps with a sink, in commit order, and directory changes are events', async () => {
    const app = appWithoutMedia(await open());
    const sim = await startSim({ messages: 5, seed: 'outbox-dir' });
    await addSimulatorCorp(app, sim);
    const { db, dialect } = app.store;
    const corpid = sim.corp.corpid;
    const directory = new DirectoryStore(db, dialect);
    await directory.upsertMember(corpid, { userid: 'u1', name: 'Ann' }, 'sync');
    await directory.upsertMember(corpid, { userid: 'u1', name: 'Anne' }, 'sync');
    expect(await db.selectFrom('event_outbox').select('id').execute()).toEqual([]);

    const hook = await receiver();
    const added = await app.sinks.add({ corpid, type: 'webhook', url: hook.url, includeContent: false });
    hook.setSecret(added.generatedSecret!);
    await directory.upsertMember(corpid, { userid: 'u1', name: 'Annie' }, 'event');
    await directory.renameUserId(corpid, 'u1', 'u2', 'event');
    await db.transaction().execute((trx) => recordEvents(trx, dialect, corpid, [{ kind: 'message', ref: 'm1', payload: { msgid: 'm1' } }], Date.now()));
    // the same message again adds nothing
    await db.transaction().execute((trx) => recordEvents(trx, dialect, corpid, [{ kind: 'message', ref: 'm1', payload: { msgid: 'm1' } }], Date.now()));

    await deliverUntil([stageOf(app)], () => hook.received.length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(hook.received.map((r) => [r.body.kind, r.body.data.field ?? r.body.data.msgid, r.body.data.new ?? null])).toEqual([
      ['directory_change', 'name', 'Annie'],
      ['directory_change', 'userid', 'u2'],
      ['message', 'm1', null],
    ]);
  });
  it("members, departments, customers and groups added to or gone from the simulator's directory are events, delivered without content", async () => {
    const app = appWithoutMedia(await open());
    const sim = await startSim({ messages: 0, seed: 'outbox-dir-presence' });
    const corpid = sim.corp.corpid;
    // the directory's secrets, no callback apps: each change below reaches the archive by a sync
    await registerCorps(app, [simulatorCorp(sim, { callbackApps: false })]);
    const services = createCallbackServices(app, createLogger('silent'), { handlePullNotifies: false, directory: false });
    const { db } = app.store;
    const events = async () =>
      (await db.selectFrom('event_outbox').select(['kind', 'payload']).where('corpid', '=', corpid).orderBy('seq').execute()).map((r) => {
        expect(r.kind).toBe('directory_change');
        const p = JSON.parse(r.payload) as Record<string, unknown>;
        return [p.entity, p.field, p.id, p.field === 'added' ? p.new : p.old, p.source];
      });
    try {
      // the first sync, before any sink: the directory fills, and no event is written
      // (WeCom deletes only empty departments: 901 stays empty)
      await sim.api.addDepartment(901, '临时组');
      await services.directory.syncNow(corpid);
      expect(await events()).toEqual([]);
      const hook = await receiver();
      const added = await app.sinks.add({ corpid, type: 'webhook', url: hook.url, includeContent: false });
      hook.setSecret(added.generatedSecret!);

      const data = sim.api.data;
      const [carol, leaver] = [...data.members.keys()] as [string, string];
      const leaverName = data.members.get(leaver)!.name;
      await sim.api.addMember({ userid: 'zz.new', name: '新同事' });
      await sim.api.deleteMember(leaver);
      await sim.api.addDepartment(900, '法务部');
      await sim.api.deleteDepartment(901);
      const { externalUserId } = await sim.api.addExternalContact({ name: '新客户 Zoe', userid: carol });
      const { roomid } = await sim.api.createCustomerGroup({ name: '新客户群', owner: carol, externals: [externalUserId] });
      // what the add_external_contact callback does: ask for the contact to be described
      await services.directoryStore.enqueue(corpid, 'external', externalUserId, 'event', { force: true });
      await services.directory.syncNow(corpid);
      const round1 = [
        ['department', 'added', '900', '法务部', 'sync'],
        ['department', 'deleted', '901', '临时组', 'sync'],
        ['member', 'added', 'zz.new', '新同事', 'sync'],
        ['member', 'deleted', leaver, leaverName, 'sync'],
        ['group', 'added', roomid, '新客户群', 'sync'],
        ['external', 'added', externalUserId, '新客户 Zoe', 'sync'],
      ];
      expect((await events()).sort()).toEqual([...round1].sort());
      // a sync that finds nothing new writes no event
      await services.directory.syncNow(corpid);
      expect((await events()).length).toBe(round1.length);

      // the customer loses its only follower (externalcontact/get answers 84061), and the group is dismissed
      await sim.api.deleteExternalContact(carol, externalUserId);
      await services.directoryStore.enqueue(corpid, 'external', externalUserId, 'event', { force: true });
      await services.directory.syncNow(corpid);
      await sim.api.dismissGroup(roomid);
      // what the change_external_chat dismiss callback does
      await services.directoryStore.markGroup(corpid, roomid, 'dismissed', null, null);
      // a delete_user callback for the member the sync already found gone changes nothing
      await services.directoryStore.deleteMember(corpid, leaver);
      const round2 = [
        ['external', 'deleted', externalUserId, '新客户 Zoe', 'sync'],
        ['group', 'deleted', roomid, '新客户群', 'event'],
      ];
      const recorded = await events();
      expect(recorded.slice(round1.length)).toEqual(round2);

      await deliverUntil([stageOf(app)], () => hook.received.length >= round1.length + round2.length);
      await new Promise((r) => setTimeout(r, 50));
      expect(hook.received.length).toBe(round1.length + round2.length);
      expect(hook.received.every((r) => r.verified)).toBe(true);
      expect(hook.received.map((r) => [r.body.data.entity, r.body.data.field, r.body.data.id, r.body.data.new ?? r.body.data.old, r.body.data.source])).toEqual(recorded);
      for (const { body } of hook.received) {
        expect(Object.keys(body).sort()).toEqual(['corpid', 'created_at', 'data', 'id', 'kind', 'seq']);
        expect(Object.keys(body.data).sort()).toEqual(['changed_at', 'entity', 'field', 'id', 'new', 'old', 'source']);
      }
    } finally {
      services.close();
    }
  });
});
