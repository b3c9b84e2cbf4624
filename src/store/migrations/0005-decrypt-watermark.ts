import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The decrypt stage's watermark: every envelope of the corp at or below `decrypted_seq`
 * has been handled — its message is stored, or it waits with a reason. Fresh envelopes are no longer
 * rewritten one by one to 'done' after decryption: the watermark moves in the same transaction as
 * the messages, which halves the writes per message. Null means nothing was decrypted under this
 * scheme yet (every 'pending' envelope is still to do).
 */
export async function up(db: Kysely<any>, _d: StoreDialect): Promise<void> {
  await db.schema.alterTable('cursors').addColumn('decrypted_seq', 'char(20)').execute();
}
