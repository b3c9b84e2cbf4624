import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * An index that finds a range of entry ids cheaply beside a token's entries, where the dialect
 * needs one (SearchIndexSql.createIdRangeIndex: a BRIN index on PostgreSQL), so a search reads the
 * newest holders of a rare term without visiting every holder's row.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d.search.createIdRangeIndex(db);
}
