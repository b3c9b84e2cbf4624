import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The index entries' key on (corpid, msgid) filed behind each entry's second where a key on msgids
 * alone cost the index stage a page written per message (SearchIndexSql.keyEntriesBySecond: SQLite).
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d.search.keyEntriesBySecond(db);
}
