import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Gaps are told apart (pull/gap-kind.ts): a 'loss', where data may have fallen out of WeCom's 5-day
 * window, or a 'jump' of seq while the cursor was well inside it, which loses nothing. Gaps recorded
 * before stay losses unless the stored data proves otherwise: the cursor's own message, archived
 * with its time, was young enough when the jump came.
 *
 * The directory refresh queue gets a lease (owner and expiry), so that a `run` and a `serve` process
 * sharing a database do not both describe the same id.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await db.schema
    .alterTable('gaps')
    .addColumn('kind', 'varchar(8)', (c) => c.notNull().defaultTo('loss'))
    .execute();
  await db.schema.alterTable('gaps').addColumn('cursor_age_ms', d.types.bigint).execute();
  // the rule of pull/gap-kind.ts as it was when this migration was written (5 days less 6 hours):
  // a migration must do the same thing forever, whatever the constants become
  const youngEnough = (5 * 24 - 6) * 3600_000;
  await sql`UPDATE gaps SET cursor_age_ms = (SELECT gaps.detected_at - MAX(m.msgtime) FROM messages m
    WHERE m.corpid = gaps.corpid AND m.seq = gaps.after_seq AND m.msgtime > 0)`.execute(db);
  await sql`UPDATE gaps SET kind = 'jump', note = ${'seq jumped while the cursor was well inside the 5-day window (classified from the archived message at the cursor): WeCom does not promise contiguous seq values; nothing fell out of the window'}
    WHERE cursor_age_ms IS NOT NULL AND cursor_age_ms <= ${youngEnough}`.execute(db);

  await db.schema.alterTable('dir_refresh_queue').addColumn('lease_owner', 'varchar(64)').execute();
  await db.schema.alterTable('dir_refresh_queue').addColumn('lease_until', d.types.bigint).execute();
}
