import { type Kysely, sql } from 'kysely';
import { conversationKindOf, participantsOf } from '../../reading/conversation-facts.ts';
import type { StoreDialect } from '../dialects/dialect.ts';

/** Messages read per step of the backfill, and participant rows per insert. */
const SCAN_CHUNK = 5000;
const INSERT_CHUNK = 200;

/**
 * The conversation summary (one row per conversation) and its participants, which the decrypt
 * commit keeps from now on; both are filled from the messages already archived.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { bigint } = d.types;
  await d
    .tableOptions(
      db.schema
        .createTable('conversations')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('conversation_key', 'varchar(400)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('roomid', 'varchar(191)', (c) => c.notNull())
        .addColumn('message_count', bigint, (c) => c.notNull())
        .addColumn('first_msgtime', bigint, (c) => c.notNull())
        .addColumn('last_msgtime', bigint, (c) => c.notNull())
        .addColumn('last_seq', 'char(20)', (c) => c.notNull())
        .addColumn('last_msgid', 'varchar(191)', (c) => c.notNull())
        .addPrimaryKeyConstraint('conversations_pk', ['corpid', 'conversation_key']),
    )
    .execute();
  // the list's order: newest activity first
  await db.schema.createIndex('conversations_last_idx').on('conversations').columns(['corpid', 'last_msgtime', 'conversation_key']).execute();
  await d
    .tableOptions(
      db.schema
        .createTable('conversation_participants')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('conversation_key', 'varchar(400)', (c) => c.notNull())
        .addColumn('userid', 'varchar(191)', (c) => c.notNull())
        .addPrimaryKeyConstraint('conversation_participants_pk', ['corpid', 'conversation_key', 'userid']),
    )
    .execute();
  // a member's or customer's conversations (filters, department scopes)
  await db.schema.createIndex('conversation_participants_user_idx').on('conversation_participants').columns(['corpid', 'userid']).execute();
  await backfill(db, d);
}

async function backfill(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await sql`INSERT INTO conversations (corpid, conversation_key, kind, roomid, message_count, first_msgtime, last_msgtime, last_seq, last_msgid)
    SELECT corpid, conversation_key, 'single', MAX(roomid), COUNT(*), MIN(msgtime), MAX(msgtime), '', '' FROM messages GROUP BY corpid, conversation_key`.execute(db);
  // the newest message: the highest seq at the newest msgtime
  await sql`UPDATE conversations SET last_seq = (SELECT MAX(m.seq) FROM messages m WHERE m.corpid = conversations.corpid
    AND m.conversation_key = conversations.conversation_key AND m.msgtime = conversations.last_msgtime)`.execute(db);
  await sql`UPDATE conversations SET last_msgid = (SELECT m.msgid FROM messages m WHERE m.corpid = conversations.corpid AND m.seq = conversations.last_seq)`.execute(db);
  const pairs = await db.selectFrom('conversations').select(['corpid', 'conversation_key']).where('conversation_key', 'not like', 'room:%').execute();
  for (const row of pairs) {
    const kind = conversationKindOf(row.conversation_key);
    if (kind !== 'single') await db.updateTable('conversations').set({ kind }).where('corpid', '=', row.corpid).where('conversation_key', '=', row.conversation_key).execute();
  }
  await db.updateTable('conversations').set({ kind: 'group' }).where('conversation_key', 'like', 'room:%').execute();

  const seen = new Set<string>();
  let after: { corpid: string; msgid: string } | null = null;
  for (;;) {
    let query = db.selectFrom('messages').select(['corpid', 'msgid', 'conversation_key', 'from_id', 'tolist']);
    if (after) {
      const { corpid, msgid } = after;
      query = query.where((eb) => eb.or([eb('corpid', '>', corpid), eb.and([eb('corpid', '=', corpid), eb('msgid', '>', msgid)])]));
    }
    const rows = await query.orderBy('corpid').orderBy('msgid').limit(SCAN_CHUNK).execute();
    if (rows.length === 0) break;
    const fresh: Array<{ corpid: string; conversation_key: string; userid: string }> = [];
    for (const r of rows) {
      for (const userid of participantsOf(r.from_id, r.tolist)) {
        const entry = `${r.corpid}\u0000${r.conversation_key}\u0000${userid}`;
        if (seen.has(entry)) continue;
        seen.add(entry);
        fresh.push({ corpid: r.corpid, conversation_key: r.conversation_key, userid });
      }
    }
    for (let i = 0; i < fresh.length; i += INSERT_CHUNK) {
      await d.ignoreDuplicates(db.insertInto('conversation_participants').values(fresh.slice(i, i + INSERT_CHUNK)), ['corpid', 'conversation_key', 'userid']).execute();
    }
    const last = rows[rows.length - 1]!;
    after = { corpid: last.corpid, msgid: last.msgid };
  }
}
