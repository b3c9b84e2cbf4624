/**
 * Simulator → signed callbacks over HTTP → inbox → directory → names in the export, on every
 * database; a token expiry and API faults mid-run recovered; msgaudit_notify pulling new messages at
 * once instead of after the poll interval.
 */
import { expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import { directoryStatuses } from '../../src/directory/directory-status.ts';
import { exportJsonl } from '../../src/export/export-jsonl.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { archiveOnce, FAST_TIMING } from '../support/archive-harness.ts';
import { useCleanups } from '../support/cleanups.ts';
import { describeEachDialect } from '../support/databases.ts';
import { addSimulatorCorpWithCallbacks, appWithEnv, eventually, startCallbackArchive, type RunningArchive } from '../callbacks/harness.ts';

const defer = useCleanups();

async function simulator(opts: Parameters<typeof startSimulator>[0]): Promise<RunningSimulator> {
  const sim = await startSimulator(opts);
  defer(() => sim.close());
  return sim;
}

async function callbackArchive(
  app: App,
  sim: RunningSimulator,
  options: Parameters<typeof startCallbackArchive>[1] = {},
  archive?: Parameters<typeof startCallbackArchive>[2],
): Promise<RunningArchive> {
  const r = await startCallbackArchive(app, options, archive);
  defer(() => r.stop());
  sim.api.callbackTarget = `${r.base}/callback`;
  return r;
}

/** The directory has scanned every message and described everything it queued (after a full sync). */
async function settled(app: App, corpid: string): Promise<void> {
  const db = app.store.db;
  await eventually(
    async () => {
      const s = (await directoryStatuses(db)).get(corpid);
      const synced = s?.parts.find((p) => p.part === 'customer_groups')?.lastSuccessAt;
      const newest = await db
        .selectFrom('messages')
        .select((eb) => eb.fn.max('seq').as('seq'))
        .where('corpid', '=', corpid)
        .executeTakeFirst();
      const scanned = await db.selectFrom('dir_sync_state').select('watermark').where('corpid', '=', corpid).where('part', '=', 'scan').executeTakeFirst();
      return Boolean(s && synced && s.members > 0 && scanned?.watermark === newest?.seq && s.unresolved.pending === 0);
    },
    20_000,
    'the directory to settle',
  );
}

async function exported(app: App, corpid: string): Promise<Array<Record<string, any>>> {
  const out: Array<Record<string, any>> = [];
  for await (const line of exportJsonl(app.store.db, corpid)) out.push(JSON.parse(line));
  return out;
}

describeEachDialect('directory over callbacks', ({ open }) => {
  it('names every sender, recipient and room in the export, and follows every change WeCom announces', async () => {
    const sim = await simulator({ messages: 400, seed: 'directory-e2e' });
    const corpid = sim.corp.corpid;
    const app = appWithEnv(await open());
    await addSimulatorCorpWithCallbacks(app, sim);
    expect((await archiveOnce(app))[0]).toMatchObject({ state: 'ok', messages: 400 });
    await callbackArchive(app, sim);
    await settled(app, corpid);

    // Every id in every message has its WeCom name; the one group WeCom cannot describe is marked.
    const data = sim.api.data;
    const nameOf = (id: string) => data.members.get(id)?.name ?? data.externals.get(id)?.name ?? data.robots.get(id)?.name ?? null;
    const undescribable = [...data.groups.values()].find((g) => g.kind === 'undescribable')!;
    let roomsNamed = 0;
    for (const m of await exported(app, corpid)) {
      const from = m.from ?? m.user;
      expect(m._archive.names.sender, `sender ${from}`).toBe(nameOf(from));
      expect(m._archive.names.recipients).toEqual((m.tolist ?? []).map(nameOf));
      if (m.roomid) {
        expect(m._archive.names.room).toBe(m.roomid === undescribable.roomid ? null : data.groups.get(m.roomid)!.name);
        if (m._archive.names.room) roomsNamed += 1;
      } else {
        expect(m._archive.names.room).toBeNull();
      }
    }
    expect(roomsNamed).toBeGreaterThan(50);
    const marked = await app.store.db
      .selectFrom('dir_groups')
      .select(['status', 'last_error_code', 'last_error'])
      .where('corpid', '=', corpid)
      .where('roomid', '=', undescribable.roomid)
      .executeTakeFirst();
    expect(marked).toMatchObject({ status: 'undescribable', last_error_code: 40050, last_error: expect.stringContaining('msgaudit/groupchat/get answered 301059') });
    const customerGroup = [...data.groups.values()].find((g) => g.kind === 'customer')!;
    expect(await app.store.db.selectFrom('dir_groups').select(['kind', 'name', 'owner']).where('roomid', '=', customerGroup.roomid).executeTakeFirst()).toEqual({
      kind: 'customer',
      name: customerGroup.name,
      owner: customerGroup.owner,
    });
    // Consent of customers seen in 1:1 chats came from check_single_agree; the permit list and WeCom's IPs are stored.
    const consent = await app.store.db.selectFrom('dir_consent').select(['scope', 'status', 'source']).where('corpid', '=', corpid).execute();
    expect(consent.some((c) => c.scope === 'single' && c.status === 'Disagree' && c.source === 'api')).toBe(true);
    expect(consent.some((c) => c.scope === 'room')).toBe(true);
    expect((await app.store.db.selectFrom('dir_permit_users').selectAll().where('corpid', '=', corpid).execute()).length).toBe(data.permitUsers.size);
    expect((await app.store.db.selectFrom('callback_ip_list').select('entry').execute()).map((r) => r.entry)).toContain('101.226.103.*');

    // Changes arrive as signed callbacks and are applied: renames keep history, userid changes keep old ids named.
    // Members who sent messages, so the export shows what their changes do.
    const senders = [...new Set((await exported(app, corpid)).map((m) => m.from as string))].filter((id) => data.members.has(id));
    const [alice, bob, carol, leaver] = senders as [string, string, string, string];
    const aliceMessages = (await exported(app, corpid)).filter((m) => m.from === alice).length;
    expect(aliceMessages).toBeGreaterThan(0);
    const aliceName = data.members.get(alice)!.name;
    expect((await sim.api.renameMember(alice, '爱丽丝'))?.status).toBe(200);
    expect((await sim.api.changeUserId(bob, 'bob.new'))?.status).toBe(200);
    const { externalUserId } = await sim.api.addExternalContact({ name: '新客户 Zoe', userid: carol, corpName: 'Zoe Ltd' });
    expect((await sim.api.approveArchive(carol, externalUserId))?.status).toBe(200);
    const { roomid } = await sim.api.createCustomerGroup({ name: '新客户群', owner: carol, externals: [externalUserId] });
    expect((await sim.api.dismissGroup(customerGroup.roomid))?.status).toBe(200);
    expect((await sim.api.addDepartment(900, '法务部'))?.status).toBe(200);
    expect((await sim.api.renameDepartment(2, '研发中心'))?.status).toBe(200);
    expect((await sim.api.updateTag(1, { addUsers: [carol], delUsers: [] }))?.status).toBe(200);
    const leaverName = data.members.get(leaver)!.name;
    expect((await sim.api.deleteMember(leaver))?.status).toBe(200);

    const db = app.store.db;
    await eventually(
      async () => (await db.selectFrom('dir_external_contacts').select('name').where('external_userid', '=', externalUserId).executeTakeFirst())?.name === '新客户 Zoe',
      10_000,
      'the new customer',
    );
    await eventually(async () => (await db.selectFrom('dir_groups').select('name').where('roomid', '=', roomid).executeTakeFirst())?.name === '新客户群', 10_000, 'the new group');
    expect((await sim.api.renameGroup(roomid, '新客户群（已改名）'))?.status).toBe(200);
    await eventually(
      async () => (await db.selectFrom('dir_groups').select('name').where('roomid', '=', roomid).executeTakeFirst())?.name === '新客户群（已改名）',
      10_000,
      'the renamed group',
    );
    await eventually(
      async () => (await db.selectFrom('callback_inbox').select('id').where('state', 'in', ['pending', 'working']).execute()).length === 0,
      10_000,
      'the inbox to drain',
    );

    expect(await db.selectFrom('dir_members').select(['name']).where('userid', '=', alice).executeTakeFirst()).toEqual({ name: '爱丽丝' });
    expect(await db.selectFrom('dir_name_history').select(['entity_id', 'field', 'old_value', 'new_value', 'source']).where('corpid', '=', corpid).orderBy('id').execute()).toEqual(
      expect.arrayContaining([
        { entity_id: alice, field: 'name', old_value: aliceName, new_value: '爱丽丝', source: 'event' },
        { entity_id: 'bob.new', field: 'userid', old_value: bob, new_value: 'bob.new', source: 'event' },
        { entity_id: '2', field: 'name', old_value: '研发部', new_value: '研发中心', source: 'event' },
        { entity_id: roomid, field: 'name', old_value: '新客户群', new_value: '新客户群（已改名）', source: 'sync' },
      ]),
    );
    expect(await db.selectFrom('dir_members').select(['renamed_to']).where('userid', '=', bob).executeTakeFirst()).toEqual({ renamed_to: 'bob.new' });
    expect(await db.selectFrom('dir_members').select(['name', 'deleted_at']).where('userid', '=', leaver).executeTakeFirst()).toEqual({
      name: leaverName,
      deleted_at: expect.any(Number),
    });
    expect(
      await db
        .selectFrom('dir_consent')
        .select(['status', 'source'])
        .where('scope', '=', 'single')
        .where('scope_id', '=', carol)
        .where('external_id', '=', externalUserId)
        .executeTakeFirst(),
    ).toEqual({ status: 'Agree', source: 'event' });
    expect(await db.selectFrom('dir_groups').select(['status', 'name']).where('roomid', '=', customerGroup.roomid).executeTakeFirst()).toEqual({
      status: 'dismissed',
      name: customerGroup.name,
    });
    expect(await db.selectFrom('dir_departments').select(['name']).where('corpid', '=', corpid).where('dept_id', '=', 900).executeTakeFirst()).toEqual({ name: '法务部' });
    expect(
      await db.selectFrom('dir_tag_members').select('member_id').where('tag_id', '=', 1).where('member_kind', '=', 'user').where('member_id', '=', carol).executeTakeFirst(),
    ).toEqual({ member_id: carol });

    // The export names people as the directory knows them now: the renamed member, and old ids of renamed members.
    const after = await exported(app, corpid);
    expect(after.filter((m) => m.from === alice).every((m) => m._archive.names.sender === '爱丽丝')).toBe(true);
    expect(after.filter((m) => m.from === alice).length).toBe(aliceMessages);
    const bobName = data.members.get('bob.new')!.name;
    expect(after.filter((m) => m.from === bob).length).toBeGreaterThan(0);
    expect(after.filter((m) => m.from === bob).every((m) => m._archive.names.sender === bobName)).toBe(true);
    expect(after.filter((m) => m.from === leaver).length).toBeGreaterThan(0);
    expect(after.filter((m) => m.from === leaver).every((m) => m._archive.names.sender === leaverName)).toBe(true);
    expect(await db.selectFrom('callback_inbox').select('id').where('state', '=', 'failed').execute()).toEqual([]);
  });

  it('recovers from a token expiry mid-run and rides out -1 and 45009', async () => {
    const sim = await simulator({ messages: 120, seed: 'tokens' });
    const corpid = sim.corp.corpid;
    const app = appWithEnv(await open());
    await addSimulatorCorpWithCallbacks(app, sim);
    await archiveOnce(app);
    const r = await callbackArchive(app, sim);
    await settled(app, corpid);
    const tokensBefore = sim.api.calls.get('/cgi-bin/gettoken') ?? 0;
    expect(tokensBefore).toBe(3); // one per secret, cached since

    // WeCom invalidates every token; then the customer-contact API is busy twice and rate-limited once.
    sim.api.expireTokens();
    sim.api.injectFault({ path: '/cgi-bin/externalcontact/get', errcode: -1, count: 2 });
    sim.api.injectFault({ path: '/cgi-bin/externalcontact/get', errcode: 45009 });
    const { externalUserId } = await sim.api.addExternalContact({ name: '令牌测试客户', userid: [...sim.api.data.members.keys()][0]! });
    await eventually(
      async () => (await app.store.db.selectFrom('dir_external_contacts').select('name').where('external_userid', '=', externalUserId).executeTakeFirst())?.name === '令牌测试客户',
      10_000,
      'the customer',
    );
    expect(sim.api.calls.get('/cgi-bin/gettoken')).toBe(tokensBefore + 1);

    // A full sync after the expiry refetches each remaining token once and succeeds.
    await r.services.directory.syncNow(corpid);
    expect(sim.api.calls.get('/cgi-bin/gettoken')).toBe(tokensBefore + 3);
    const s = (await directoryStatuses(app.store.db)).get(corpid)!;
    expect(s.parts.filter((p) => p.lastError !== null)).toEqual([]);

    // A fault that outlasts the retries is recorded with WeCom's code and what it means.
    sim.api.injectFault({ path: '/cgi-bin/department/list', errcode: 45009, count: 10 });
    await r.services.directory.syncNow(corpid);
    const members = (await directoryStatuses(app.store.db)).get(corpid)!.parts.find((p) => p.part === 'members')!;
    expect(members).toMatchObject({ lastErrorCode: 45009 });
    expect(members.lastError).toMatch(/45009: API call frequency exceeded/);
    sim.api.clearFaults();
  });

  it('pulls new messages at once on msgaudit_notify, not after the poll interval', async () => {
    const sim = await simulator({ messages: 60, seed: 'notify' });
    const corpid = sim.corp.corpid;
    const app = appWithEnv(await open());
    await addSimulatorCorpWithCallbacks(app, sim, { secrets: false });
    // Two minutes between polls: anything sooner is the callback's doing.
    const r = await callbackArchive(app, sim, { directory: false }, { once: false, timing: { ...FAST_TIMING, pollIntervalMs: 120_000 } });
    const count = async () =>
      Number(
        (
          await app.store.db
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('corpid', '=', corpid)
            .executeTakeFirst()
        )?.n ?? 0,
      );
    await eventually(async () => (await count()) === 60, 15_000, 'the first 60 messages');
    await new Promise((res) => setTimeout(res, 300));

    // New data without a notify stays in WeCom until the next poll …
    sim.appendGenerated(3);
    await new Promise((res) => setTimeout(res, 1_100));
    expect(await count()).toBe(60);
    // … and with one it is archived long before the next poll (two minutes away); how soon is a
    // figure of `npm run bench:callbacks` (notify_to_archived_ms), not an assertion here.
    expect((await sim.api.notifyNewData())?.status).toBe(200);
    await eventually(async () => (await count()) === 63, 10_000, 'the 3 new messages');
    expect(r.services.waker.rings.get(corpid)).toBe(1);
    expect(await app.store.db.selectFrom('callback_inbox').select(['kind', 'state']).execute()).toEqual([{ kind: 'msgaudit_notify', state: 'done' }]);
  });
});
