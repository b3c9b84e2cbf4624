/**
 * A small archive for the reading tests: two corps with departments, members, a customer, a robot
 * and a group; single, external and group conversations (corp B has a conversation with the same key
 * as one of corp A's); recalls and quotes; and generated messages of every type. Messages go in
 * through the decrypt stage's commit, so the conversation summary is the one ingest keeps.
 */
import { type Kysely, sql } from 'kysely';
import { EnvelopeRepository } from '../../src/decrypt/envelope-repository.ts';
import { normalizeMessage, parseMessageJson } from '../../src/messages/normalize-message.ts';
import { messageRowOf } from '../../src/messages/message-row.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { Database, NewMessage } from '../../src/store/schema.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import { generatedPlaintexts } from '../support/generated-messages.ts';

export const A = 'wwreadcorpa00001';
export const B = 'wwreadcorpb00002';
export const CUSTOMER = 'wmZhangSanCustomer0001';
export const ROBOT = 'wbRobotHelper00000001';
export const ROOM = 'wrProjectRoom01';
/** 2026-03-01 09:00 in UTC+8 */
export const T0 = Date.UTC(2026, 2, 1, 1, 0, 0);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

/** Directory names: every one distinct, and none a part of another, so a leak check can look for each. */
export const NAMES: Record<string, Record<string, string>> = {
  [A]: { alice: '爱丽丝', bob: '鲍勃', carol: '卡罗尔', dave: '戴夫', [CUSTOMER]: '张三客户', [ROBOT]: '助手机器人', [ROOM]: '项目协作群' },
  [B]: { eve: '伊芙', frank: '弗兰克', alice: '阿丽', bob: '波波' },
};

/** Departments: corp A 1 ⊃ 2 (sales) ⊃ 3 (east), 1 ⊃ 4 (IT); members by department (corp B's bob is in its own department 4). */
export const DEPARTMENTS = [
  { corpid: A, dept_id: 1, parent_id: null },
  { corpid: A, dept_id: 2, parent_id: 1 },
  { corpid: A, dept_id: 3, parent_id: 2 },
  { corpid: A, dept_id: 4, parent_id: 1 },
  { corpid: B, dept_id: 4, parent_id: null },
];
export const MEMBER_DEPARTMENTS: Record<string, Record<string, number[]>> = {
  [A]: { alice: [3], bob: [4], carol: [2, 4], dave: [4] },
  [B]: { eve: [4], frank: [4], alice: [4], bob: [4] },
};

export interface FixtureMessage {
  corpid: string;
  msgid: string;
  json: Record<string, unknown>;
}

const text = (corpid: string, msgid: string, from: string, to: string[], msgtime: number, content: string, roomid = ''): FixtureMessage => ({
  corpid,
  msgid,
  json: { msgid, action: 'send', from, tolist: to, roomid, msgtime, msgtype: 'text', text: { content } },
});

/** The handwritten messages, in the order they are stored (not their time order: a late one comes last). */
export function handwritten(): FixtureMessage[] {
  return [
    text(A, 'a01', 'alice', ['bob'], T0, '早上好'),
    text(A, 'a02', 'bob', ['alice'], T0 + MIN, '今天开会吗'),
    text(A, 'a03', 'alice', ['bob'], T0 + 2 * MIN, '这是一条引用/回复消息：\n"鲍勃：\n今天开会吗"\n------\n下午三点'),
    text(A, 'a04', 'alice', ['bob'], T0 + 3 * MIN, '发错了'),
    {
      corpid: A,
      msgid: 'a05',
      json: { msgid: 'a05', action: 'recall', from: 'alice', tolist: ['bob'], roomid: '', msgtime: T0 + 4 * MIN, msgtype: 'revoke', revoke: { pre_msgid: 'a04' } },
    },
    {
      corpid: A,
      msgid: 'a06',
      json: {
        msgid: 'a06',
        action: 'send',
        from: 'bob',
        tolist: ['alice'],
        roomid: '',
        msgtime: T0 + DAY,
        msgtype: 'image',
        image: { md5sum: 'c4ca4238a0b923820dcc509a6f75849b', filesize: 1234, sdkfileid: 'sdkA06' },
      },
    },
    // the same msgtime as a06: the order falls back to seq
    text(A, 'a07', 'alice', ['bob'], T0 + DAY, '收到图片'),
    // 2026-03-04 00:30 in UTC+8, still 2026-03-03 in UTC
    text(A, 'a08', 'bob', ['alice'], Date.UTC(2026, 2, 3, 16, 30), '深夜消息'),
    text(A, 'a09', 'alice', ['bob'], Date.UTC(2026, 2, 3, 16, 31), '「某人：一句没有存档的话」\n- - - - - - - - - - - - - - -\n什么意思'),
    text(A, 's01', 'bob', ['dave'], T0 + 10 * MIN, 'IT 机房巡检'),
    text(A, 's02', 'dave', ['bob'], T0 + 11 * MIN, '好的'),
    text(A, 's03', 'bob', ['dave'], T0 + 2 * DAY, '周报'),
    text(A, 'e01', CUSTOMER, ['alice'], T0 + 5 * MIN, '你好，我想咨询'),
    text(A, 'e02', 'alice', [CUSTOMER], T0 + 6 * MIN, '您好，请讲'),
    text(A, 'g01', 'carol', ['dave', CUSTOMER, ROBOT], T0 + 20 * MIN, '项目启动', ROOM),
    text(A, 'g02', ROBOT, ['carol', 'dave', CUSTOMER], T0 + 21 * MIN, '提醒：今天截止', ROOM),
    text(A, 'g03', 'dave', ['carol', CUSTOMER, ROBOT], T0 + 22 * MIN, '收到', ROOM),
    text(B, 'b01', 'eve', ['frank'], T0 + 30 * MIN, '乙公司的消息'),
    text(B, 'b02', 'frank', ['eve'], T0 + 31 * MIN, '回复乙公司'),
    text(B, 'b03', 'alice', ['bob'], T0 + 32 * MIN, '同名会话在乙公司'),
    // stored last, although it is the oldest of its conversation (a message that waited for a key)
    text(A, 'a00', 'bob', ['alice'], T0 - DAY, '最早的一条'),
  ];
}

export function rowOf(m: FixtureMessage, seq: bigint): NewMessage {
  const raw = Buffer.from(JSON.stringify(m.json));
  const n = normalizeMessage(parseMessageJson(raw.toString('utf8')), m.msgid);
  return messageRowOf(m.corpid, encodeSeq(seq), n, raw, 1);
}

/** Every message of the fixture as rows: the handwritten ones, then `generated` simulated ones of every type in corp A. */
export async function fixtureRows(generated: number): Promise<NewMessage[]> {
  const rows = handwritten().map((m, i) => rowOf(m, BigInt(1000 + i)));
  const plaintexts = await generatedPlaintexts('reading-fixture', generated);
  plaintexts.forEach((plain, i) => {
    const json = parseMessageJson(plain.toString('utf8'));
    const msgid = `gen${String(i).padStart(3, '0')}`;
    const row = rowOf({ corpid: A, msgid, json }, BigInt(5000 + i));
    rows.push({ ...row, raw: plain });
  });
  return rows;
}

/** Writes the directory and commits `rows` through the decrypt commit, in batches of `batch`. */
export async function loadFixture(store: Store, rows: readonly NewMessage[], batch = 7): Promise<void> {
  await writeDirectory(store.db);
  const repo = new EnvelopeRepository(store.db);
  for (const corpid of [A, B]) {
    const own = rows.filter((r) => r.corpid === corpid);
    // small batches for the handwritten messages (a conversation's messages in several commits), large ones for the generated
    for (let i = 0; i < own.length;) {
      const size = own[i]!.msgid.startsWith('gen') ? 100 : batch;
      await repo.commitDecrypted(store.dialect, corpid, { lane: 'retry', messages: own.slice(i, i + size), waits: [], lastSeq: '', newestMsgtime: null }, 1);
      i += size;
    }
  }
  // PostgreSQL plans by table statistics, which autovacuum gathers a while after a bulk load; a test
  // reads right after it, so it gathers them itself (else every plan assumes empty tables)
  if (store.dialect.name === 'postgres') await sql`ANALYZE`.execute(store.db);
}

/** A directory member's row, as the directory stage stores one. */
export function memberRow(corpid: string, userid: string, name: string, departments: readonly number[]) {
  return {
    corpid,
    userid,
    name,
    alias: null,
    position: null,
    departments: JSON.stringify(departments),
    main_department: departments[0]!,
    status: 1,
    renamed_to: null,
    deleted_at: null,
    synced_at: 1,
    updated_at: 1,
  };
}

async function writeDirectory(db: Kysely<Database>): Promise<void> {
  await db
    .insertInto('dir_departments')
    .values(DEPARTMENTS.map((d) => ({ ...d, name: `d${d.dept_id}`, name_en: null, sort_order: null, deleted_at: null, synced_at: 1, updated_at: 1 })))
    .execute();
  for (const corpid of [A, B]) {
    for (const [userid, departments] of Object.entries(MEMBER_DEPARTMENTS[corpid]!)) {
      await db
        .insertInto('dir_members')
        .values(memberRow(corpid, userid, NAMES[corpid]![userid]!, departments))
        .execute();
    }
  }
  await db
    .insertInto('dir_external_contacts')
    .values({
      corpid: A,
      external_userid: CUSTOMER,
      name: NAMES[A]![CUSTOMER]!,
      type: 1,
      corp_name: null,
      corp_full_name: null,
      position: null,
      follow_users: null,
      status: 'ok',
      last_error_code: null,
      last_error: null,
      synced_at: 1,
      updated_at: 1,
    })
    .execute();
  await db.insertInto('dir_robots').values({ corpid: A, robot_id: ROBOT, name: NAMES[A]![ROBOT]!, creator_userid: null, synced_at: 1, updated_at: 1 }).execute();
  await db
    .insertInto('dir_groups')
    .values({
      corpid: A,
      roomid: ROOM,
      kind: 'internal',
      name: NAMES[A]![ROOM]!,
      owner: 'carol',
      notice: null,
      create_time: null,
      member_count: 4,
      members: null,
      status: 'ok',
      last_error_code: null,
      last_error: null,
      synced_at: 1,
      updated_at: 1,
    })
    .execute();
}
