import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Runs `fn` in a transaction of its own, or inside the caller's when `db` already is one: a service
 * that keeps its own writes together can then also be one step of a larger all-or-nothing change
 * (`corp import`).
 */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}
