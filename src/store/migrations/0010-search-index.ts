import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The message search index (each dialect's own full-text structure, see dialects/*-search.ts) and
 * the queue of messages waiting to enter it. Every message already archived is queued, so the
 * index stage indexes existing archives on its first run.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d
    .tableOptions(
      db.schema
        .createTable('search_pending')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
        .addColumn('queued_at', d.types.bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('search_pending_pk', ['corpid', 'msgid']),
    )
    .execute();
  await d.search.createIndex(db, d);
  await sql`INSERT INTO search_pending (corpid, msgid, queued_at) SELECT corpid, msgid, ${Date.now()} FROM messages`.execute(db);
}
