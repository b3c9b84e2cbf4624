import { type Kysely, sql } from 'kysely';

/**
 * Each index entry keeps its message's conversation, so that a search filtered to a conversation,
 * or limited to a reader's conversations (access/scope-sql.ts), refuses the entries of other
 * conversations before it reads their messages. A viewer's count of a common word read about
 * 42,000 of them for its 10,000 on SQLite, each message row fetched only for its conversation.
 * The entries already written take it from their messages (a message is kept, and its
 * conversation never changes); the index stage writes it from now on.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('search_docs')
    .addColumn('conversation_key', 'varchar(400)', (c) => c.notNull().defaultTo(''))
    .execute();
  // one statement every dialect takes; an entry always has its message, and '' stands for none
  await sql`UPDATE search_docs SET conversation_key = COALESCE((SELECT m.conversation_key FROM messages m
    WHERE m.corpid = search_docs.corpid AND m.msgid = search_docs.msgid), '')`.execute(db);
}
