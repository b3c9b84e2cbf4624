import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Where the index stage finds a message's entry by the entry's time (SearchIndexSql.dropMessageKey:
 * SQLite), the key on (corpid, msgid) goes: it cost the stage a page written per message.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d.search.dropMessageKey(db);
}
