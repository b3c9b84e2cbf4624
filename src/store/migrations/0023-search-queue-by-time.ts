import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The index stage's queue keyed by (corpid, msgtime, msgid) instead of (corpid, msgid), so that it
 * is worked off oldest first. Message ids are random, and a batch taken in their order held
 * messages from anywhere in the queue's time span: their index entries, whose ids follow time
 * (time-ids.ts), were then written into as many different pages. The rows already queued keep
 * their place, their msgtime taken from their message.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d
    .tableOptions(
      db.schema
        .createTable('search_queue')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('msgtime', d.types.bigint, (c) => c.notNull())
        .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
        .addColumn('queued_at', d.types.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('search_queue_pk', ['corpid', 'msgtime', 'msgid']),
    )
    .execute();
  // a queue row always has its message (both are written in one transaction, and messages are kept)
  await sql`INSERT INTO search_queue (corpid, msgtime, msgid, queued_at)
    SELECT p.corpid, m.msgtime, p.msgid, p.queued_at FROM search_pending p JOIN messages m ON m.corpid = p.corpid AND m.msgid = p.msgid`.execute(db);
  await db.schema.dropTable('search_pending').execute();
  await db.schema.alterTable('search_queue').renameTo('search_pending').execute();
}
