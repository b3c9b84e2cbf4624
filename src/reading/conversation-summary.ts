/**
 * The row-writing side of the reading layer: the decrypt stage records each stored message in its
 * conversation's summary row and participants in the transaction that stores the message, so the
 * conversation list never disagrees with the messages, whatever crashes.
 */
import { sql, type Transaction } from 'kysely';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database, NewMessage } from '../store/schema.ts';
import { conversationKindOf, participantsOf } from './conversation-facts.ts';

/** Rows an `IN (…)` list holds at most. */
const IN_CHUNK = 500;

interface Tally {
  count: number;
  first: number;
  lastTime: number;
  lastSeq: string;
  lastMsgid: string;
}

/**
 * Adds `messages` (all of `corpid`, about to be written by the caller with `insertIgnoring`, in the
 * same transaction) to their conversations' rows: counts, first and last message, participants.
 * Only messages not stored yet are counted, so a batch committed twice (a retried commit, a second
 * decrypt of the same envelopes, by this process or another) never counts a message twice. The
 * conversation rows are locked before the check: a concurrent commit of the same messages then
 * waits for this one and finds them stored. Rows are written in key order, as every writer does.
 */
export async function recordConversations(trx: Transaction<Database>, dialect: StoreDialect, corpid: string, messages: readonly NewMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const keys = [...new Set(messages.map((m) => m.conversation_key))].sort();
  const firstOf = new Map<string, NewMessage>();
  for (const m of messages) if (!firstOf.has(m.conversation_key)) firstOf.set(m.conversation_key, m);
  // a new conversation starts empty, with its first message's times; addTally then counts the batch in
  await dialect.insertIgnoring(
    trx,
    'conversations',
    keys.map((key) => {
      const m = firstOf.get(key)!;
      return {
        corpid,
        conversation_key: key,
        kind: conversationKindOf(key),
        roomid: m.roomid,
        message_count: 0,
        first_msgtime: Number(m.msgtime),
        last_msgtime: Number(m.msgtime),
        last_seq: m.seq,
        last_msgid: m.msgid,
      };
    }),
    ['corpid', 'conversation_key'],
  );
  for (let i = 0; i < keys.length; i += IN_CHUNK) {
    await trx
      .updateTable('conversations')
      .set({ message_count: sql`message_count` })
      .where('corpid', '=', corpid)
      .where('conversation_key', 'in', keys.slice(i, i + IN_CHUNK))
      .execute();
  }
  const stored = new Set<string>();
  for (let i = 0; i < messages.length; i += IN_CHUNK) {
    const rows = await trx
      .selectFrom('messages')
      .select('msgid')
      .where('corpid', '=', corpid)
      .where(
        'msgid',
        'in',
        messages.slice(i, i + IN_CHUNK).map((m) => m.msgid),
      )
      .execute();
    for (const r of rows) stored.add(r.msgid);
  }

  const tallies = new Map<string, Tally>();
  const participants = new Set<string>();
  for (const m of messages) {
    // NUL separates the key from the id: neither can hold one
    for (const id of participantsOf(m.from_id, m.tolist)) participants.add(`${m.conversation_key}\u0000${id}`);
    if (stored.has(m.msgid)) continue;
    stored.add(m.msgid); // a msgid twice in one batch is stored once
    const msgtime = Number(m.msgtime);
    const t = tallies.get(m.conversation_key);
    if (!t) tallies.set(m.conversation_key, { count: 1, first: msgtime, lastTime: msgtime, lastSeq: m.seq, lastMsgid: m.msgid });
    else {
      t.count++;
      if (msgtime < t.first) t.first = msgtime;
      if (msgtime > t.lastTime || (msgtime === t.lastTime && m.seq > t.lastSeq)) Object.assign(t, { lastTime: msgtime, lastSeq: m.seq, lastMsgid: m.msgid });
    }
  }
  for (const key of keys) {
    const t = tallies.get(key);
    if (t) await addTally(trx, corpid, key, t);
  }
  const rows = [...participants].sort().map((entry) => {
    const at = entry.indexOf('\u0000');
    return { corpid, conversation_key: entry.slice(0, at), userid: entry.slice(at + 1) };
  });
  await dialect.insertIgnoring(trx, 'conversation_participants', rows, ['corpid', 'conversation_key', 'userid']);
}

async function addTally(trx: Transaction<Database>, corpid: string, key: string, t: Tally): Promise<void> {
  // the newest message moves only forward. MySQL evaluates the assignments of one SET in order, each
  // seeing the ones before it, so the two that test (last_msgtime, last_seq) come before either is
  // assigned, and last_msgtime, assigned last, is a plain maximum that needs no other column
  const newer = sql<boolean>`(last_msgtime < ${t.lastTime} OR (last_msgtime = ${t.lastTime} AND last_seq < ${t.lastSeq}))`;
  await trx
    .updateTable('conversations')
    .set({
      message_count: sql`message_count + ${t.count}`,
      first_msgtime: sql`CASE WHEN first_msgtime > ${t.first} THEN ${t.first} ELSE first_msgtime END`,
      last_msgid: sql`CASE WHEN ${newer} THEN ${t.lastMsgid} ELSE last_msgid END`,
      last_seq: sql`CASE WHEN ${newer} THEN ${t.lastSeq} ELSE last_seq END`,
      last_msgtime: sql`CASE WHEN last_msgtime < ${t.lastTime} THEN ${t.lastTime} ELSE last_msgtime END`,
    })
    .where('corpid', '=', corpid)
    .where('conversation_key', '=', key)
    .execute();
}
