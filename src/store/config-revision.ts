/**
 * The configuration's revision (migration 0017): a counter that every change of corps, keys or
 * callback apps raises inside the transaction that makes the change, so a process that reads a new
 * revision also reads the change. Running processes poll it (a one-row read) to learn when to
 * read the settings again; the counter says only that something changed, never what.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from './schema.ts';

/** Raises the revision; call with the transaction that writes the change. */
export async function bumpConfigRevision(db: Kysely<Database>): Promise<void> {
  await db
    .updateTable('config_revision')
    .set({ revision: sql<number>`revision + 1` })
    .where('id', '=', 1)
    .execute();
}

/** The current revision, as text (bigint on PostgreSQL comes back as a string). */
export async function readConfigRevision(db: Kysely<Database>): Promise<string> {
  const row = await db.selectFrom('config_revision').select('revision').where('id', '=', 1).executeTakeFirst();
  return String(row?.revision ?? 0);
}
