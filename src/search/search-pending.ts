/**
 * The row-writing side of the index stage's queue: the decrypt stage queues each message it stores
 * in the same transaction, so a stored message is always either indexed or queued (never neither,
 * whatever crashes). Queuing a message twice is harmless: the key is the message.
 */
import type { Transaction } from 'kysely';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';

/** Queues these messages of `corpid` for the search index, inside the caller's transaction. */
export async function queueForIndex(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  corpid: string,
  messages: ReadonlyArray<{ readonly msgid: string; readonly msgtime: number }>,
  now: number,
): Promise<void> {
  // in key order (oldest first), the order the index stage reads the queue in, so the two lock rows alike
  const rows = [...messages]
    .sort((a, b) => a.msgtime - b.msgtime || (a.msgid < b.msgid ? -1 : a.msgid > b.msgid ? 1 : 0))
    .map((m) => ({ corpid, msgtime: m.msgtime, msgid: m.msgid, queued_at: now }));
  await dialect.insertIgnoring(trx, 'search_pending', rows, ['corpid', 'msgtime', 'msgid']);
}
