/**
 * The archive bench:api reads: one corp with a directory (departments, members, customers, groups,
 * all named, with their pinyin keys), `messages` messages in `messages / 50` conversations (20,000 at
 * 1,000,000), one of them a busy group holding every tenth message, the rest spread unevenly (a few
 * conversations busy, most quiet; each has at least one message). Texts, quoted replies, images with
 * their downloaded media rows, and recalls, in the shapes WeCom sends them.
 *
 * Everything goes into the tables the read routes read: messages (with the index queue, then the
 * index stage), conversations and conversation_participants (the summary the decrypt commit keeps,
 * computed here from the same messages), media, and the directory's tables. Messages are written
 * 10,000 a transaction, not through pull and decrypt: bench:ingest measures those.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { conversationKindOf } from '../../src/reading/conversation-facts.ts';
import { nameKeys } from '../../src/directory/name-keys.ts';
import type { Rng } from '../../src/simulator/core/prng.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { NewMediaJob, NewMessage } from '../../src/store/schema.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import { seededRng } from '../../test/support/test-seed.ts';
import { chatText } from './chat-text.ts';
import { indexQueued, LOAD_BATCH, storeMessages } from './bulk-store.ts';

export const BENCH_CORP = 'wwbenchapicorp01';
/** The busy group: every tenth message (100,000 of 1,000,000). */
export const BIG_ROOM = 'wrBenchBigRoom0001';
export const BIG_CONVERSATION = `room:${BIG_ROOM}`;
/** The department a viewer is granted in the bench (its members take part in the busy group too). */
export const VIEWER_DEPARTMENT = 7;
/** The first message's time; messages follow every SPACING_MS, so 1,000,000 span about six months. */
export const START = Date.UTC(2026, 0, 1);
export const SPACING_MS = 15_000;

const MEMBERS = 2000;
const CUSTOMERS = 5000;
const DEPARTMENTS = 20;
const BIG_ROOM_MEMBERS = 60;
const SURNAMES = [
  ...'王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤',
];
const GIVEN = [...'伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏辉建国志文斌宇浩凯欣怡佳琪思雨晨阳子轩梓涵博文嘉俊'];
const GROUP_WORDS = ['项目', '销售', '客服', '研发', '华东', '华南', '售后', '周报', '合同', '采购', '市场', '运营', '财务', '招聘', '产品'];

const pad = (n: number, width: number) => String(n).padStart(width, '0');
export const memberId = (i: number) => `u${pad(i, 5)}`;
const customerId = (i: number) => `wmBenchCustomer${pad(i, 6)}`;
const roomId = (i: number) => `wrBenchRoom${pad(i, 6)}`;
/** A member's departments: one of 2…21 under the root 1, by its number. */
const departmentOf = (i: number) => 2 + (i % DEPARTMENTS);

/** One conversation of the bench: its key, who takes part, and whether a customer does. */
interface Conversation {
  key: string;
  roomid: string;
  participants: string[];
  external: boolean;
}

/** The summary the decrypt commit would keep for a conversation. */
interface Tally {
  count: number;
  first: number;
  lastTime: number;
  lastSeq: string;
  lastMsgid: string;
  /** the conversation's last text and who said it, for the next reply to quote */
  lastText: { from: string; text: string } | null;
  lastMsgidSent: string | null;
}

export interface BuildFigures {
  messages: number;
  conversations: number;
  load_s: number;
  /** null: not indexed (--no-search) */
  index_s: number | null;
}

function personName(rng: Rng): string {
  return rng.pick(SURNAMES) + Array.from({ length: rng.range(1, 2) }, () => rng.pick(GIVEN)).join('');
}

/** The conversations: index 0 the busy group; of the others 6 in 10 are pairs of members, 2 a member with a customer, 2 groups. */
function conversationsOf(count: number, rng: Rng): Conversation[] {
  const list: Conversation[] = [];
  // the busy group holds members of every department, the viewer's among them
  const bigMembers = Array.from({ length: BIG_ROOM_MEMBERS }, (_, i) => memberId(1 + ((i * 37) % MEMBERS)));
  list.push({ key: BIG_CONVERSATION, roomid: BIG_ROOM, participants: [...new Set(bigMembers)], external: false });
  for (let i = 1; i < count; i++) {
    const kind = i % 10;
    if (kind < 8) {
      const a = memberId(rng.range(1, MEMBERS));
      let b = kind < 6 ? memberId(rng.range(1, MEMBERS)) : customerId(rng.range(1, CUSTOMERS));
      if (b === a) b = memberId((Number(a.slice(1)) % MEMBERS) + 1);
      list.push({ key: a <= b ? `pair:${a}|${b}` : `pair:${b}|${a}`, roomid: '', participants: [a, b], external: kind >= 6 });
    } else {
      const size = rng.range(3, 20);
      const people = new Set<string>();
      while (people.size < size) people.add(memberId(rng.range(1, MEMBERS)));
      const external = rng.chance(0.3);
      if (external) people.add(customerId(rng.range(1, CUSTOMERS)));
      list.push({ key: `room:${roomId(i)}`, roomid: roomId(i), participants: [...people], external });
    }
  }
  // a pair drawn twice would be one conversation: the bench wants `count` distinct ones
  const seen = new Set<string>();
  for (const [i, c] of list.entries()) {
    if (!seen.has(c.key)) {
      seen.add(c.key);
      continue;
    }
    const a = memberId(1 + (i % MEMBERS));
    const b = memberId(1 + ((i * 7 + 13) % MEMBERS));
    const key = `room:${roomId(i)}`;
    list[i] = { key, roomid: roomId(i), participants: [...new Set([a, b, c.participants[0]!])], external: false };
    seen.add(key);
  }
  return list;
}

/** The directory: departments, members (in departments 2…21), customers, and every group of `conversations` named. */
async function storeDirectory(store: Store, conversations: readonly Conversation[], rng: Rng): Promise<void> {
  const now = START;
  const corpid = BENCH_CORP;
  await store.db.transaction().execute(async (trx) => {
    const departments = [
      { corpid, dept_id: 1, name: '总部', name_en: null, parent_id: null, sort_order: 1, deleted_at: null, synced_at: now, updated_at: now },
      ...Array.from({ length: DEPARTMENTS }, (_, i) => ({
        corpid,
        dept_id: i + 2,
        name: `${GROUP_WORDS[i % GROUP_WORDS.length]}${i + 2}部`,
        name_en: null,
        parent_id: 1,
        sort_order: i + 2,
        deleted_at: null,
        synced_at: now,
        updated_at: now,
      })),
    ];
    await store.dialect.insertIgnoring(trx, 'dir_departments', departments, ['corpid', 'dept_id']);
    const members = Array.from({ length: MEMBERS }, (_, k) => {
      const name = personName(rng);
      const keys = nameKeys(name);
      return {
        corpid,
        userid: memberId(k + 1),
        name,
        name_pinyin: keys.pinyin,
        name_initials: keys.initials,
        alias: null,
        position: null,
        departments: JSON.stringify([departmentOf(k + 1)]),
        main_department: departmentOf(k + 1),
        status: 1,
        renamed_to: null,
        deleted_at: null,
        synced_at: now,
        updated_at: now,
      };
    });
    await store.dialect.insertIgnoring(trx, 'dir_members', members, ['corpid', 'userid']);
    const customers = Array.from({ length: CUSTOMERS }, (_, k) => {
      const name = `${personName(rng)}${rng.chance(0.3) ? '（客户）' : ''}`;
      const keys = nameKeys(name);
      return {
        corpid,
        external_userid: customerId(k + 1),
        name,
        name_pinyin: keys.pinyin,
        name_initials: keys.initials,
        type: 1,
        corp_name: null,
        corp_full_name: null,
        position: null,
        follow_users: null,
        status: 'ok' as const,
        last_error_code: null,
        last_error: null,
        synced_at: now,
        updated_at: now,
      };
    });
    await store.dialect.insertIgnoring(trx, 'dir_external_contacts', customers, ['corpid', 'external_userid']);
    const groups = conversations
      .filter((c) => c.roomid !== '')
      .map((c, k) => {
        const name = `${rng.pick(GROUP_WORDS)}${rng.pick(GROUP_WORDS)}群${k + 1}`;
        const keys = nameKeys(name);
        return {
          corpid,
          roomid: c.roomid,
          kind: c.external ? ('customer' as const) : ('internal' as const),
          name,
          name_pinyin: keys.pinyin,
          name_initials: keys.initials,
          owner: c.participants[0]!,
          notice: null,
          create_time: START,
          member_count: c.participants.length,
          members: null,
          status: 'ok' as const,
          last_error_code: null,
          last_error: null,
          synced_at: now,
          updated_at: now,
        };
      });
    await store.dialect.insertIgnoring(trx, 'dir_groups', groups, ['corpid', 'roomid']);
  });
}

/** Message `n`'s conversation: every tenth the busy group; the first of the others one each, then skewed towards the low numbers. */
function conversationOfMessage(n: number, conversations: number, rng: Rng): number {
  if (n % 10 === 0) return 0;
  const k = n - Math.floor(n / 10) - 1; // the how-many-th message outside the busy group
  if (k < conversations - 1) return k + 1;
  return 1 + Math.floor((conversations - 1) * rng.float() ** 2);
}

/** The stored row of message `n` in `c`, and its media row when it has one; updates the conversation's tally. */
function messageOf(n: number, c: Conversation, tally: Tally, rng: Rng) {
  const corpid = BENCH_CORP;
  const msgid = `benchapi${pad(n, 8)}`;
  const msgtime = START + n * SPACING_MS;
  const seq = encodeSeq(BigInt(n + 1));
  const from = rng.pick(c.participants);
  const tolist = c.participants.filter((p) => p !== from);
  const base = { msgid, action: 'send', from, tolist, roomid: c.roomid, msgtime };
  const roll = rng.float();
  let json: Record<string, unknown>;
  let media: Record<string, unknown> | undefined;
  let preMsgid: string | null = null;
  if (roll < 0.005 && tally.lastMsgidSent !== null) {
    // a recall of the conversation's previous message
    preMsgid = tally.lastMsgidSent;
    json = { ...base, action: 'recall', msgtype: 'revoke', revoke: { pre_msgid: preMsgid } };
  } else if (roll < 0.045) {
    const sdkfileid = createHash('sha256').update(msgid).digest('base64');
    const size = rng.range(20_000, 3_000_000);
    json = { ...base, msgtype: 'image', image: { md5sum: createHash('md5').update(msgid).digest('hex'), filesize: size, sdkfileid } };
    media = { msgtype: 'image', kind: 'image', path: 'image', sdkfileid, size, sha256: createHash('sha256').update(sdkfileid).digest('hex') };
  } else {
    let text = chatText(rng);
    // about one text in twenty replies to the conversation's last text, as WeCom clients quote it
    if (tally.lastText && rng.chance(0.05)) text = `这是一条引用/回复消息：\n"${tally.lastText.from}：\n${tally.lastText.text}"\n------\n${text}`;
    else tally.lastText = { from, text };
    json = { ...base, msgtype: 'text', text: { content: text } };
  }
  tally.count++;
  tally.lastTime = msgtime;
  tally.lastSeq = seq;
  tally.lastMsgid = msgid;
  if (json.action === 'send') tally.lastMsgidSent = msgid;
  const row: NewMessage = {
    corpid,
    msgid,
    seq,
    action: String(json.action),
    from_id: from,
    tolist: JSON.stringify(tolist),
    roomid: c.roomid,
    msgtime,
    msgtype: String(json.msgtype),
    conversation_key: c.key,
    is_external: c.external ? 1 : 0,
    is_updown: 0,
    known_type: 1,
    pre_msgid: preMsgid,
    raw: Buffer.from(JSON.stringify(json)),
    created_at: msgtime,
  };
  const mediaRow: NewMediaJob | undefined = media && {
    corpid,
    msgid,
    slot: 0,
    msgtype: String(media.msgtype),
    kind: 'image' as const, // the only media the bench archive has
    path: String(media.path),
    sdkfileid: String(media.sdkfileid),
    md5_expected: null,
    size_expected: Number(media.size),
    file_name: null,
    state: 'done' as const,
    index_token: '',
    bytes_done: Number(media.size),
    partial_id: null,
    attempts: 1,
    failures: 0,
    next_try_at: msgtime,
    lease_owner: null,
    lease_until: null,
    error_code: null,
    error: null,
    sha256: String(media.sha256),
    md5: null,
    size: Number(media.size),
    content_type: 'image/jpeg',
    storage_key: null,
    voice_format: null,
    converted_key: null,
    converted_type: null,
    convert_error: null,
    created_at: msgtime,
    updated_at: msgtime,
    finished_at: msgtime,
  };
  return { row, mediaRow };
}

/**
 * Builds the bench archive into an empty, migrated store; prints progress on stderr. Without
 * `index`, the messages stay queued for the index stage (search finds nothing yet).
 */
export async function buildApiArchive(store: Store, messages: number, index = true): Promise<BuildFigures> {
  const conversationCount = Math.max(10, Math.floor(messages / 50));
  const rng = seededRng('bench-api');
  const conversations = conversationsOf(conversationCount, rng);
  const t0 = performance.now();
  await storeDirectory(store, conversations, rng);
  const tallies: Tally[] = conversations.map(() => ({ count: 0, first: 0, lastTime: 0, lastSeq: '', lastMsgid: '', lastText: null, lastMsgidSent: null }));
  for (let i = 0; i < messages; i += LOAD_BATCH) {
    const rows: NewMessage[] = [];
    const mediaRows: NewMediaJob[] = [];
    for (let n = i; n < Math.min(messages, i + LOAD_BATCH); n++) {
      const at = conversationOfMessage(n, conversationCount, rng);
      const tally = tallies[at]!;
      if (tally.count === 0) tally.first = START + n * SPACING_MS;
      const { row, mediaRow } = messageOf(n, conversations[at]!, tally, rng);
      rows.push(row);
      if (mediaRow) mediaRows.push(mediaRow);
    }
    await storeMessages(store, rows, START);
    if (mediaRows.length > 0) await store.db.transaction().execute((trx) => store.dialect.insertIgnoring(trx, 'media', mediaRows, ['corpid', 'msgid', 'slot']));
    if ((i + LOAD_BATCH) % 100_000 === 0) process.stderr.write(`stored ${i + LOAD_BATCH}/${messages}\r`);
  }
  await storeSummaries(store, conversations, tallies);
  const loadSeconds = (performance.now() - t0) / 1000;
  const indexSeconds = index ? await indexQueued(store, messages) : 0;
  await refreshPlannerStatistics(store);
  return { messages, conversations: conversations.length, load_s: Math.round(loadSeconds), index_s: index ? Math.round(indexSeconds) : null };
}

/**
 * As autovacuum or an operator would have by the time anyone reads a large archive: the planner's
 * statistics of the tables just filled (PostgreSQL plans as if they were empty until then), and on
 * PostgreSQL the dead rows of emptied tables cleared. SQLite keeps none: the product's queries are
 * written for its planner without them.
 */
export async function refreshPlannerStatistics(store: Store): Promise<void> {
  // VACUUM too: indexing deletes every row of the index queue, which a count of the backlog (asked
  // by every search) would otherwise read through until autovacuum had run
  if (store.dialect.name === 'postgres') await sql`VACUUM ANALYZE`.execute(store.db);
  if (store.dialect.name === 'mysql')
    await sql`ANALYZE TABLE messages, search_docs, conversations, conversation_participants, media, dir_members, dir_external_contacts, dir_groups`.execute(store.db);
}

/** The conversations' summary rows and participants, as the decrypt commit would have left them. */
async function storeSummaries(store: Store, conversations: readonly Conversation[], tallies: readonly Tally[]): Promise<void> {
  const corpid = BENCH_CORP;
  const summaries = conversations.map((c, i) => {
    const t = tallies[i]!;
    return {
      corpid,
      conversation_key: c.key,
      kind: conversationKindOf(c.key),
      roomid: c.roomid,
      message_count: t.count,
      first_msgtime: t.first,
      last_msgtime: t.lastTime,
      last_seq: t.lastSeq,
      last_msgid: t.lastMsgid,
    };
  });
  const participants = conversations.flatMap((c) => c.participants.map((userid) => ({ corpid, conversation_key: c.key, userid })));
  await store.db.transaction().execute(async (trx) => {
    await store.dialect.insertIgnoring(trx, 'conversations', summaries, ['corpid', 'conversation_key']);
    await store.dialect.insertIgnoring(trx, 'conversation_participants', participants, ['corpid', 'conversation_key', 'userid']);
  });
}
