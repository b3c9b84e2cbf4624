/**
 * The reading layer on every dialect: the conversation summary kept by the decrypt commit, pages both
 * ways, centred pages, days, message views, and scope (nothing out of scope is returned).
 */
import { beforeAll, expect, it } from 'vitest';
import { EVERYTHING, NOTHING, type ReadScope } from '../../src/access/read-scope.ts';
import { ArchiveError } from '../../src/errors/errors.ts';
import { listConversations, type ConversationSummary } from '../../src/reading/conversation-list.ts';
import { conversationDays, conversationMessages, messageById, messageContext, type MessagePage } from '../../src/reading/message-pages.ts';
import type { MessageView } from '../../src/reading/message-views.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { NewMessage } from '../../src/store/schema.ts';
import { parseMessage } from '../support/chat-data.ts';
import { describeEachDialect } from '../support/databases.ts';
import { EnvelopeRepository } from '../../src/decrypt/envelope-repository.ts';
import { A, B, CUSTOMER, fixtureRows, loadFixture, NAMES, ROBOT, ROOM, rowOf, T0 } from './reading-fixture.ts';
import { model, type ModelConversation, sees } from './reading-model.ts';

/** enough simulated messages for every type the generator writes */
const GENERATED = 400;

/** Every page of a corp's conversations, following `next`. */
async function allConversations(store: Store, scope: ReadScope, corpid: string, filters: Parameters<typeof listConversations>[4] = {}): Promise<ConversationSummary[]> {
  const out: ConversationSummary[] = [];
  let before: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await listConversations(store.db, store.dialect, scope, corpid, { ...filters, limit: 3, before });
    out.push(...page.conversations);
    if (page.next === null) return out;
    before = page.next;
  }
  throw new Error('the conversation list did not end');
}

/** The fields every message has, beside its content. */
const HEADER = ['msgid', 'action', 'from', 'tolist', 'roomid', 'msgtime', 'msgtype'];
const ids = (views: readonly MessageView[]) => views.map((v) => v.msgid);
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'no error',
    (e: unknown) => (e instanceof ArchiveError ? e.code : String(e)),
  );

describeEachDialect('reading the archive', ({ open }) => {
  let store: Store;
  let rows: NewMessage[];
  let conversations: ModelConversation[];
  const read = () => ({ db: store.db, d: store.dialect });

  beforeAll(async () => {
    store = await open();
    rows = await fixtureRows(GENERATED);
    conversations = model(rows);
    await loadFixture(store, rows);
  });

  const conv = (corpid: string, key: string) => conversations.find((c) => c.corpid === corpid && c.key === key)!;

  it('keeps one summary row per conversation as its messages say, and a replayed commit counts nothing twice', async () => {
    const check = async () => {
      const summary = await store.db.selectFrom('conversations').selectAll().execute();
      expect(summary.length).toBe(conversations.length);
      for (const c of conversations) {
        const row = summary.find((s) => s.corpid === c.corpid && s.conversation_key === c.key)!;
        const last = c.messages[c.messages.length - 1]!;
        expect({ count: Number(row.message_count), first: Number(row.first_msgtime), last: row.last_msgid, lastTime: Number(row.last_msgtime), roomid: row.roomid }).toEqual({
          count: c.messages.length,
          first: Number(c.messages[0]!.msgtime),
          last: last.msgid,
          lastTime: Number(last.msgtime),
          roomid: c.roomid,
        });
      }
      const participants = await store.db.selectFrom('conversation_participants').selectAll().execute();
      expect(participants.map((p) => `${p.corpid} ${p.conversation_key} ${p.userid}`).sort()).toEqual(
        conversations.flatMap((c) => [...c.participants].map((p) => `${c.corpid} ${c.key} ${p}`)).sort(),
      );
    };
    await check();
    const kinds = Object.fromEntries(
      (await store.db.selectFrom('conversations').select(['conversation_key', 'kind']).where('corpid', '=', A).execute()).map((r) => [r.conversation_key, r.kind]),
    );
    expect([kinds['pair:alice|bob'], kinds[`pair:alice|${CUSTOMER}`], kinds[`room:${ROOM}`]]).toEqual(['single', 'external', 'group']);
    // the same batches committed again, as after a retried commit or a second decrypt of the same envelopes
    await loadFixtureAgain(store, rows);
    await check();
  });

  it('pages every message of a conversation once, in order, backwards and forwards', async () => {
    const { db, d } = read();
    for (const c of conversations.filter((x) => x.corpid === A && x.messages.length >= 3 && x.messages[0]!.msgid < 'gen030')) {
      const expected = c.messages.map((m) => m.msgid);
      const backwards: string[] = [];
      let page: MessagePage = await conversationMessages(db, d, EVERYTHING, A, c.key, { limit: 2 });
      expect(page.after).toBeNull();
      for (;;) {
        backwards.unshift(...ids(page.messages));
        if (page.before === null) break;
        page = await conversationMessages(db, d, EVERYTHING, A, c.key, { limit: 2, before: page.before });
      }
      expect(backwards).toEqual(expected);
      const forwards: string[] = [];
      page = await conversationMessages(db, d, EVERYTHING, A, c.key, { limit: 2, at: 0 });
      expect(page.before).toBeNull();
      for (;;) {
        forwards.push(...ids(page.messages));
        if (page.after === null) break;
        page = await conversationMessages(db, d, EVERYTHING, A, c.key, { limit: 2, after: page.after });
      }
      expect(forwards).toEqual(expected);
    }
  });

  it('centres a page on a message (around, context) or a time (at)', async () => {
    const { db, d } = read();
    const c = conv(A, 'pair:alice|bob');
    const order = c.messages.map((m) => m.msgid);
    for (const [i, msgid] of order.entries()) {
      const page = await conversationMessages(db, d, EVERYTHING, A, c.key, { around: msgid, limit: 5 });
      const start = Math.max(0, i - 2);
      expect(ids(page.messages)).toEqual(order.slice(start, start + 5));
      expect(page.messages[i - start]!.msgid).toBe(msgid);
      expect(page.before !== null).toBe(start > 0);
      expect(page.after !== null).toBe(start + page.messages.length < order.length);
      const context = await messageContext(db, d, EVERYTHING, A, msgid, 1);
      // n on each side where there are; a page near an end is filled from the other side
      expect(ids(context.messages)).toEqual(order.slice(Math.max(0, i - 1), Math.max(0, i - 1) + 3));
    }
    // a time between messages: the first message at or after it, after those before it
    const at = await conversationMessages(db, d, EVERYTHING, A, c.key, { at: T0 + 24 * 3600_000 - 1, limit: 3 });
    expect(ids(at.messages)).toEqual(['a05', 'a06', 'a07']);
    const late = await conversationMessages(db, d, EVERYTHING, A, c.key, { at: Date.UTC(2030, 0, 1), limit: 3 });
    expect(ids(late.messages)).toEqual(['a09']);
    expect(late.after).toBeNull();
  });

  it('lists the days of a month that have messages, in UTC+8 unless told another offset', async () => {
    const { db, d } = read();
    const key = 'pair:alice|bob';
    const daysAt = (offsetMinutes: number, month: string) =>
      [
        ...new Set(
          conv(A, key)
            .messages.map((m) => new Date(Number(m.msgtime) + offsetMinutes * 60_000).toISOString().slice(0, 10))
            .filter((day) => day.startsWith(month)),
        ),
      ].sort();
    expect((await conversationDays(db, d, EVERYTHING, A, key, '2026-03')).days).toEqual(daysAt(480, '2026-03'));
    expect(daysAt(480, '2026-03')).toEqual(['2026-03-01', '2026-03-02', '2026-03-04']);
    expect((await conversationDays(db, d, EVERYTHING, A, key, '2026-03', 0)).days).toEqual(['2026-03-01', '2026-03-02', '2026-03-03']);
    expect((await conversationDays(db, d, EVERYTHING, A, key, '2026-02')).days).toEqual(['2026-02-28']);
    expect((await conversationDays(db, d, EVERYTHING, A, key, '2025-12')).days).toEqual([]);
  });

  it('renders every message as a view: names, content, media, recall links and quote targets', async () => {
    const { db, d } = read();
    const page = await conversationMessages(db, d, EVERYTHING, A, 'pair:alice|bob', { limit: 50 });
    const v = Object.fromEntries(page.messages.map((m) => [m.msgid, m]));
    expect(v.a01).toMatchObject({ seq: '1000', msgtype: 'text', from: { id: 'alice', name: '爱丽丝', kind: 'member' }, content: { content: '早上好' }, preview: '早上好' });
    expect(v.a03!.quote).toEqual({ user: '鲍勃', quote: '今天开会吗', content: '下午三点', target: { msgid: 'a02', preview: '今天开会吗' } });
    expect(v.a03!.preview).toBe('下午三点');
    expect(v.a09!.quote).toMatchObject({ user: '某人', quote: '一句没有存档的话', target: null });
    expect([v.a05!.revokes, v.a05!.revokedBy, v.a04!.revokedBy, v.a04!.revokes]).toEqual(['a04', null, 'a05', null]);
    expect(v.a06!.media).toEqual([expect.objectContaining({ slot: 0, kind: 'image', state: 'pending', sha256: null, size: 1234, mp3: false })]);

    const external = await conversationMessages(db, d, EVERYTHING, A, `pair:alice|${CUSTOMER}`);
    expect(external.messages[0]!.from).toEqual({ id: CUSTOMER, name: NAMES[A]![CUSTOMER], kind: 'customer' });
    const group = await conversationMessages(db, d, EVERYTHING, A, `room:${ROOM}`);
    expect(group.messages.map((m) => m.from.kind)).toEqual(['member', 'robot', 'member']);
    expect(group.messages[1]!.from.name).toBe(NAMES[A]![ROBOT]);

    // the generated messages of every type: the content object of the type as the JSON has it
    const generated = rows.filter((r) => r.msgid.startsWith('gen'));
    const views = new Map<string, MessageView>();
    for (const key of new Set(generated.map((r) => r.conversation_key))) {
      let p = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 200 });
      for (const m of p.messages) views.set(m.msgid, m);
      while (p.before !== null) {
        p = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 200, before: p.before });
        for (const m of p.messages) views.set(m.msgid, m);
      }
    }
    const mediaRows = await db.selectFrom('media').select(['msgid']).where('corpid', '=', A).execute();
    const types = new Set<string>();
    for (const r of generated) {
      const view = views.get(r.msgid)!;
      // integers beyond 2^53 (vote and meeting ids) as their exact decimal strings
      const json = JSON.parse(JSON.stringify(parseMessage(r.raw as Buffer), (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)));
      types.add(r.msgtype);
      expect(view.msgtype).toBe(r.msgtype);
      if (r.action === 'switch') expect(view.content).toEqual({ user: json.user, time: json.time });
      else {
        // markdown, news and a few others keep their content under another name (`info`, `doc`, `redpacket`)
        const key = r.msgtype in json ? r.msgtype : Object.keys(json).find((k) => !HEADER.includes(k) && typeof json[k] === 'object' && !Array.isArray(json[k]));
        expect(view.content, r.msgtype).toEqual(json[key!]);
      }
      expect(view.media.length).toBe(mediaRows.filter((m) => m.msgid === r.msgid).length);
    }
    expect(types.size).toBeGreaterThanOrEqual(30);

    // a converted voice recording says it has an MP3 copy
    const voice = generated.find((r) => r.msgtype === 'voice')!;
    await db
      .updateTable('media')
      .set({ state: 'done', sha256: 'ab'.repeat(32), size: 99, content_type: 'audio/amr', converted_key: 'k', converted_type: 'audio/mpeg' })
      .where('corpid', '=', A)
      .where('msgid', '=', voice.msgid)
      .execute();
    const one = await messageById(db, d, EVERYTHING, A, voice.msgid);
    expect(one.message.media[0]).toMatchObject({ kind: 'voice', state: 'done', sha256: 'ab'.repeat(32), size: 99, contentType: 'audio/amr', mp3: true });
    expect(one.raw).toBe(Buffer.from(voice.raw as Buffer).toString('utf8'));
  });

  it('lists conversations newest first with names, previews and counts, and filters them', async () => {
    const { db, d } = read();
    const all = await allConversations(store, EVERYTHING, A);
    const expected = conversations
      .filter((c) => c.corpid === A)
      .map((c) => ({ key: c.key, last: c.messages[c.messages.length - 1]! }))
      .sort((x, y) => Number(y.last.msgtime) - Number(x.last.msgtime) || (y.key < x.key ? -1 : 1));
    expect(all.map((c) => c.conversation)).toEqual(expected.map((e) => e.key));
    const group = all.find((c) => c.conversation === `room:${ROOM}`)!;
    expect(group).toMatchObject({
      kind: 'group',
      name: NAMES[A]![ROOM],
      messageCount: 3,
      participantCount: 4,
      last: { msgid: 'g03', preview: '收到', from: { id: 'dave', name: '戴夫' } },
    });
    const single = all.find((c) => c.conversation === 'pair:alice|bob')!;
    expect(single.participants).toEqual([
      { id: 'alice', name: '爱丽丝', kind: 'member' },
      { id: 'bob', name: '鲍勃', kind: 'member' },
    ]);
    expect(single.messageCount).toBe(conv(A, 'pair:alice|bob').messages.length);
    const keys = async (f: Parameters<typeof listConversations>[4]) => (await allConversations(store, EVERYTHING, A, f)).map((c) => c.conversation).sort();
    const where = (test: (c: ModelConversation) => boolean) =>
      conversations
        .filter((c) => c.corpid === A && test(c))
        .map((c) => c.key)
        .sort();
    const external = where((c) => c.roomid === '' && [...c.participants].some((p) => /^w[mo]/.test(p)));
    expect(external).toContain(`pair:alice|${CUSTOMER}`);
    expect(await keys({ kind: 'external' })).toEqual(external);
    expect(await keys({ kind: 'group' })).toEqual(where((c) => c.roomid !== ''));
    expect(await keys({ customer: CUSTOMER })).toEqual([`pair:alice|${CUSTOMER}`, `room:${ROOM}`]);
    expect(await keys({ member: 'dave' })).toEqual(where((c) => c.participants.has('dave')));
    expect(await keys({ member: 'dave', kind: 'single' })).toEqual(['pair:bob|dave']);
    expect(await keys({ q: '协作' })).toEqual([`room:${ROOM}`]);
    expect(await keys({ q: '丽丝' })).toEqual(where((c) => c.participants.has('alice')));
    expect(await keys({ q: '100%' })).toEqual([]);
    expect((await listConversations(db, d, EVERYTHING, B)).conversations.map((c) => c.participants.map((p) => p.name))).toContainEqual(['阿丽', '波波']);
  });

  it("shows the consent of a conversation's external contacts: a 1:1 chat's by its member, a group's by its room", async () => {
    const { db, d } = read();
    const consent = (scope: 'single' | 'room', scopeId: string, status: string) => ({
      corpid: A,
      scope,
      scope_id: scopeId,
      external_id: CUSTOMER,
      status,
      status_change_time: null,
      source: 'api' as const,
      checked_at: 1,
    });
    // bob's consent row is not alice's chat's; corp B's is another corp's
    await store.db
      .insertInto('dir_consent')
      .values([
        consent('single', 'alice', 'Default_Agree'),
        consent('single', 'bob', 'Disagree'),
        consent('room', ROOM, 'Disagree'),
        { ...consent('room', ROOM, 'Agree'), corpid: B },
      ])
      .execute();
    try {
      const all = await allConversations(store, EVERYTHING, A);
      const of = (key: string) => all.find((c) => c.conversation === key)!.consent;
      expect(of(`pair:alice|${CUSTOMER}`)).toEqual([{ id: CUSTOMER, status: 'agree' }]);
      expect(of(`room:${ROOM}`)).toEqual([{ id: CUSTOMER, status: 'disagree' }]);
      expect(of('pair:alice|bob')).toEqual([]);
      expect((await listConversations(db, d, EVERYTHING, B)).conversations.every((c) => c.consent.length === 0)).toBe(true);
    } finally {
      await store.db.deleteFrom('dir_consent').execute();
    }
  });

  it('returns nothing out of scope: no conversation, message, name or count', async () => {
    const { db, d } = read();
    const scopes: Array<[string, ReadScope]> = [
      ['admin', EVERYTHING],
      ['corp B', { kind: 'limited', corps: [B], departments: [], conversations: [] }],
      ['department A/2 with its sub-department', { kind: 'limited', corps: [], departments: [{ corpid: A, departmentId: 2 }], conversations: [] }],
      ['department A/4 (corp B has a department 4 too)', { kind: 'limited', corps: [], departments: [{ corpid: A, departmentId: 4 }], conversations: [] }],
      [
        'one conversation',
        {
          kind: 'limited',
          corps: [],
          departments: [],
          conversations: [
            { corpid: A, conversation: 'pair:bob|dave' },
            { corpid: B, conversation: 'pair:bob|dave' },
          ],
        },
      ],
      ['nothing', NOTHING],
    ];
    const allNames = Object.entries(NAMES).flatMap(([corpid, names]) => Object.entries(names).map(([id, name]) => ({ corpid, id, name })));
    for (const [title, scope] of scopes) {
      const visible = conversations.filter((c) => sees(scope, c));
      const output: unknown[] = [];
      for (const corpid of [A, B]) {
        const listed = await allConversations(store, scope, corpid);
        output.push(listed);
        expect(listed.map((c) => c.conversation).sort(), title).toEqual(
          visible
            .filter((c) => c.corpid === corpid)
            .map((c) => c.key)
            .sort(),
        );
        for (const c of listed) expect(c.messageCount).toBe(conv(corpid, c.conversation).messages.length);
        for (const q of ['丽', '戴夫', '张三', '项目', '波']) output.push(await allConversations(store, scope, corpid, { q }));
        // one call of each function on every handwritten conversation and a few generated ones (the lists above cover them all)
        const probed = conversations.filter((x) => x.corpid === corpid && (!x.messages[0]!.msgid.startsWith('gen') || x.messages[0]!.msgid < 'gen010'));
        for (const c of probed) {
          const seen = visible.includes(c);
          const calls: Array<() => Promise<unknown>> = [
            () => conversationMessages(db, d, scope, corpid, c.key, { limit: 200 }),
            () => conversationDays(db, d, scope, corpid, c.key, '2026-03'),
            () => conversationMessages(db, d, scope, corpid, c.key, { around: c.messages[0]!.msgid }),
          ];
          for (const call of calls) {
            if (seen) output.push(await call());
            else expect(await codeOf(call()), `${title}: ${c.key}`).toBe('CONVERSATION_NOT_FOUND');
          }
          for (const m of c.messages.filter((x) => !x.msgid.startsWith('gen') || x.msgid < 'gen010')) {
            for (const call of [() => messageById(db, d, scope, corpid, m.msgid), () => messageContext(db, d, scope, corpid, m.msgid, 2)]) {
              if (seen) output.push(await call());
              else expect(await codeOf(call()), `${title}: ${m.msgid}`).toBe('MESSAGE_NOT_FOUND');
            }
          }
        }
      }
      // every msgid and directory name the outputs hold belongs to a visible conversation
      const text = JSON.stringify(output);
      const visibleIds = new Set(visible.flatMap((c) => c.messages.map((m) => `${c.corpid} ${m.msgid}`)));
      for (const r of rows.filter((x) => !x.msgid.startsWith('gen'))) {
        if (!visibleIds.has(`${r.corpid} ${r.msgid}`)) expect(text.includes(`"${r.msgid}"`), `${title} leaks ${r.msgid}`).toBe(false);
      }
      for (const { corpid, id, name } of allNames) {
        const allowed = visible.some((c) => c.corpid === corpid && (c.participants.has(id) || c.roomid === id));
        if (!allowed) expect(text.includes(name), `${title} leaks the name ${name}`).toBe(false);
      }
      if (title === 'nothing') expect(text).not.toMatch(/msgid/);
    }
  });

  it('refuses bad cursors, page sizes and parameters with a clear message', async () => {
    const { db, d } = read();
    const key = 'pair:alice|bob';
    const list = await listConversations(db, d, EVERYTHING, A, { limit: 1 });
    const page = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 2 });
    const bad: Array<[() => Promise<unknown>, string]> = [
      [() => conversationMessages(db, d, EVERYTHING, A, key, { before: 'not a cursor!' }), 'READ_CURSOR_INVALID'],
      [() => conversationMessages(db, d, EVERYTHING, A, key, { after: Buffer.from('["m1",1,"12"]').toString('base64url') }), 'READ_CURSOR_INVALID'],
      [() => conversationMessages(db, d, EVERYTHING, A, key, { before: list.next! }), 'READ_CURSOR_INVALID'],
      [() => listConversations(db, d, EVERYTHING, A, { before: page.before! }), 'READ_CURSOR_INVALID'],
      [() => conversationMessages(db, d, EVERYTHING, A, key, { before: page.before!, after: page.before! }), 'READ_PARAMS_INVALID'],
      [() => conversationMessages(db, d, EVERYTHING, A, key, { limit: 0 }), 'READ_LIMIT_INVALID'],
      [() => listConversations(db, d, EVERYTHING, A, { limit: 100_000 }), 'READ_LIMIT_INVALID'],
      [() => listConversations(db, d, EVERYTHING, A, { kind: 'secret' as never }), 'READ_PARAMS_INVALID'],
      [() => conversationDays(db, d, EVERYTHING, A, key, '2026-13'), 'READ_PARAMS_INVALID'],
      [() => conversationMessages(db, d, EVERYTHING, A, key, { around: 'b01' }), 'MESSAGE_NOT_FOUND'],
      [() => messageContext(db, d, EVERYTHING, A, 'a01', 1000), 'READ_LIMIT_INVALID'],
      [() => conversationMessages(db, d, EVERYTHING, A, 'pair:nobody|none'), 'CONVERSATION_NOT_FOUND'],
    ];
    for (const [call, code] of bad) expect(await codeOf(call())).toBe(code);
    const message = await conversationMessages(db, d, EVERYTHING, A, key, { before: 'xyz' }).catch((e: Error) => e.message);
    expect(message).toMatch(/before cursor is not one a page of this list gave/);
  });

  it('finds a quoted text far up a long conversation, and the nearest of equal texts', async () => {
    const { db, d } = read();
    // a conversation of its own (added last, so the tests above see the fixture alone): 150 texts, then
    // two replies, one quoting the first text (150 texts up, beyond the candidates read first), one
    // quoting a text said twice (the later one is the target)
    const key = 'pair:quoter1|quoter2';
    const say = (msgid: string, i: number, content: string) =>
      rowOf(
        { corpid: A, msgid, json: { msgid, action: 'send', from: 'quoter1', tolist: ['quoter2'], roomid: '', msgtime: T0 + i * 60_000, msgtype: 'text', text: { content } } },
        BigInt(90_000 + i),
      );
    const texts = Array.from({ length: 150 }, (_, i) => say(`q${String(i).padStart(3, '0')}`, i, i === 10 || i === 140 ? '同一句话' : `第${i}条`));
    const reply = (quoted: string) => `这是一条引用/回复消息：\n"quoter1：\n${quoted}"\n------\n回复`;
    const replies = [say('r01', 150, reply('第0条')), say('r02', 151, reply('同一句话'))];
    const repo = new EnvelopeRepository(store.db);
    await repo.commitDecrypted(store.dialect, A, { lane: 'retry', messages: [...texts, ...replies], waits: [], lastSeq: '', newestMsgtime: null }, 1);
    const page = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 3 });
    expect(ids(page.messages)).toEqual(['q149', 'r01', 'r02']);
    expect(page.messages[1]!.quote?.target).toEqual({ msgid: 'q000', preview: '第0条' });
    expect(page.messages[2]!.quote?.target).toEqual({ msgid: 'q140', preview: '同一句话' });
  });

  it('looks for a quoted text among the thousand newest texts up to the newest reply, and no further', async () => {
    const { db, d } = read();
    // 1,001 texts, then two replies: the thousand newest texts up to the second reply are the two
    // replies and the texts from c0003 on, so the reply quoting c0003 finds it and the one quoting
    // c0002 does not. The texts are sent two in each millisecond (c0002 and c0003 together), and
    // stored the later first, so the order of equal times is the seq's, not the rows'
    const key = 'pair:quoter3|quoter4';
    const say = (msgid: string, minute: number, seq: number, content: string) =>
      rowOf(
        { corpid: A, msgid, json: { msgid, action: 'send', from: 'quoter3', tolist: ['quoter4'], roomid: '', msgtime: T0 + minute * 60_000, msgtype: 'text', text: { content } } },
        BigInt(100_000 + seq),
      );
    const texts = Array.from({ length: 1001 }, (_, k) => (k % 2 === 0 && k < 1000 ? k + 1 : k - (k % 2))).map((i) =>
      say(`c${String(i).padStart(4, '0')}`, Math.floor(i / 2), i, `第${i}句`),
    );
    const reply = (quoted: string) => `这是一条引用/回复消息：\n"quoter3：\n${quoted}"\n------\n回复`;
    const replies = [say('cr1', 600, 1001, reply('第3句')), say('cr2', 601, 1002, reply('第2句'))];
    await new EnvelopeRepository(store.db).commitDecrypted(store.dialect, A, { lane: 'retry', messages: [...texts, ...replies], waits: [], lastSeq: '', newestMsgtime: null }, 1);
    const page = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 2 });
    expect(ids(page.messages)).toEqual(['cr1', 'cr2']);
    expect(page.messages[0]!.quote?.target).toEqual({ msgid: 'c0003', preview: '第3句' });
    expect(page.messages[1]!.quote).toMatchObject({ quote: '第2句', target: null });
  });

  it('orders the texts of one millisecond by seq when looking for a quoted text, however many share it', async () => {
    const { db, d } = read();
    // 30 texts in one millisecond, stored out of seq order; x03 and x25 say the same, so x25 (the later
    // by seq) is the target; x00, the earliest, is found only once the whole millisecond is read
    const key = 'pair:quoter7|quoter8';
    const say = (msgid: string, at: number, seq: number, content: string) =>
      rowOf(
        { corpid: A, msgid, json: { msgid, action: 'send', from: 'quoter7', tolist: ['quoter8'], roomid: '', msgtime: at, msgtype: 'text', text: { content } } },
        BigInt(120_000 + seq),
      );
    const texts = Array.from({ length: 30 }, (_, k) => (k * 7) % 30).map((i) => say(`x${String(i).padStart(2, '0')}`, T0, i, i === 3 || i === 25 ? '同一句' : `第${i}句`));
    const reply = (quoted: string) => `这是一条引用/回复消息：\n"quoter7：\n${quoted}"\n------\n回复`;
    const replies = [say('xr1', T0 + 60_000, 30, reply('同一句')), say('xr2', T0 + 120_000, 31, reply('第0句'))];
    await new EnvelopeRepository(store.db).commitDecrypted(store.dialect, A, { lane: 'retry', messages: [...texts, ...replies], waits: [], lastSeq: '', newestMsgtime: null }, 1);
    const page = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 2 });
    expect(ids(page.messages)).toEqual(['xr1', 'xr2']);
    expect(page.messages[0]!.quote?.target).toEqual({ msgid: 'x25', preview: '同一句' });
    expect(page.messages[1]!.quote?.target).toEqual({ msgid: 'x00', preview: '第0句' });
  });

  it('looks for a quoted text within the week before the oldest reply of the page, its first millisecond included', async () => {
    const { db, d } = read();
    const key = 'pair:quoter5|quoter6';
    const week = 7 * 24 * 3600_000;
    const say = (msgid: string, at: number, content: string, seq: number) =>
      rowOf(
        { corpid: A, msgid, json: { msgid, action: 'send', from: 'quoter5', tolist: ['quoter6'], roomid: '', msgtime: at, msgtype: 'text', text: { content } } },
        BigInt(110_000 + seq),
      );
    const reply = (quoted: string) => `这是一条引用/回复消息：\n"quoter5：\n${quoted}"\n------\n回复`;
    const messages = [
      say('w0', T0, '八天前', 0),
      say('w1', T0 + 60_000, '整一周前', 1),
      say('w2', T0 + 60_000 + week, reply('整一周前'), 2),
      say('w3', T0 + 120_000 + week, reply('八天前'), 3),
    ];
    await new EnvelopeRepository(store.db).commitDecrypted(store.dialect, A, { lane: 'retry', messages, waits: [], lastSeq: '', newestMsgtime: null }, 1);
    const page = await conversationMessages(db, d, EVERYTHING, A, key, { limit: 2 });
    expect(ids(page.messages)).toEqual(['w2', 'w3']);
    expect(page.messages[0]!.quote?.target).toEqual({ msgid: 'w1', preview: '整一周前' });
    expect(page.messages[1]!.quote).toMatchObject({ quote: '八天前', target: null });
  });
});

/** Commits every batch of the fixture a second time. */
async function loadFixtureAgain(store: Store, rows: readonly NewMessage[]): Promise<void> {
  const { EnvelopeRepository } = await import('../../src/decrypt/envelope-repository.ts');
  const repo = new EnvelopeRepository(store.db);
  for (const corpid of [A, B]) {
    const own = rows.filter((r) => r.corpid === corpid);
    // other batch boundaries than the first load, so batches mix conversations differently
    for (let i = 0; i < own.length; i += 51) {
      await repo.commitDecrypted(store.dialect, corpid, { lane: 'retry', messages: own.slice(i, i + 51), waits: [], lastSeq: '', newestMsgtime: null }, 1);
    }
  }
}
