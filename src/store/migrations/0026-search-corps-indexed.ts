import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The list of the corps that have index entries, where the dialect's counts ask it
 * (SearchIndexSql.listCorpsIndexed: SQLite), made from the entries already written.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d.search.listCorpsIndexed(db);
}
