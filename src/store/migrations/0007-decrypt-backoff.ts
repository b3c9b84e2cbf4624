import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Envelopes that failed for a transient reason are retried by themselves, with backoff and without
 * end (docs/design.md rule 3): when the next try is due. Before, they were given up after 20 tries; those
 * (SDK codes 10001–10003, or no code: the backend was unreachable) are due at once.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await db.schema.alterTable('envelopes').addColumn('next_attempt_at', d.types.bigint).execute();
  await db
    .updateTable('envelopes')
    .set({ next_attempt_at: 0, attempts: 0 })
    .where('state', '=', 'waiting')
    .where('reason', '=', 'sdk_error')
    .where((eb) => eb.or([eb('reason_code', 'is', null), eb('reason_code', 'in', [10001, 10002, 10003])]))
    .execute();
}
