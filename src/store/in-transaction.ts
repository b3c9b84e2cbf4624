import type { Kysely, Transaction } from 'kysely';
import type { StoreDialect } from './dialects/dialect.ts';
import type { Database } from './schema.ts';

/**
 * Runs `fn` in a transaction of its own, or inside the caller's when `db` already is one: a service
 * that keeps its own writes together can then also be one step of a larger all-or-nothing change
 * (`corp import`).
 */
export function inTransaction<T>(db: Kysely<Database>, fn: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/** How often a transaction the database picked as a deadlock victim (or timed out on a lock) is run again. */
export const LOCK_CONFLICT_TRIES = 5;

/**
 * A transaction, run again when the database refused it for a lock conflict (a deadlock victim, a
 * lock wait timeout): writers that touch the same rows in different orders (two stages, or two
 * processes) then both commit, and the work that led to the writes is not redone. `fn` must be
 * safe to run again, as a rolled-back transaction is.
 */
export async function transactionRetryingConflicts<T>(db: Kysely<Database>, dialect: StoreDialect, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(fn);
    } catch (err) {
      if (attempt >= LOCK_CONFLICT_TRIES || !dialect.isLockConflict(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
    }
  }
}
