import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';
import { up as queueEveryMessage } from './0018-search-facets.ts';

/**
 * On a dialect whose index entry ids follow time (SQLite: time-ids.ts), the entries written
 * before had ids in the order they were indexed, which a search newest first cannot read by.
 * They are deleted and every message is queued for the index stage again; until `run` (or
 * `reindex`) has worked the queue off, searches find fewer messages and say how many are not
 * indexed yet. Other dialects keep their entries as they are.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  if (d.search.byTime === undefined) return;
  // FTS5's own command empties an index without content at once, not row by row
  await sql`INSERT INTO search_fts (search_fts) VALUES ('delete-all')`.execute(db);
  await sql`DELETE FROM search_docs`.execute(db);
  await queueEveryMessage(db, d);
}
