import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * A message's search entry may span several rows: a PostgreSQL tsvector holds at most 1 MB of
 * lexemes, and a long chat record has more distinct tokens than that. See each dialect's
 * createDocParts (dialects/*-search.ts).
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d.search.createDocParts(db, d);
}
