/**
 * The pull stage's queries: the corp's cursor row, the envelopes a page stores and the gaps it
 * records. pull-page.ts decides what a page writes; this module writes it.
 */
import type { Insertable, Kysely, Transaction, Updateable } from 'kysely';
import { clipError } from '../runtime/clip.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { CursorTable, Database, GapTable, NewEnvelope } from '../store/schema.ts';
import { decodeSeq, encodeSeq } from '../store/seq-codec.ts';

/** The corp's cursor (0 before its first page). */
export async function readCursor(db: Kysely<Database>, corpid: string): Promise<bigint> {
  const row = await db.selectFrom('cursors').select('seq').where('corpid', '=', corpid).executeTakeFirst();
  return row ? decodeSeq(row.seq) : 0n;
}

/** The cursor and when the corp last caught up, read inside a page's transaction. */
export async function readCursorForPage(trx: Transaction<Database>, corpid: string): Promise<{ cursor: bigint; caughtUpAt: number | null }> {
  const row = await trx.selectFrom('cursors').select(['seq', 'caught_up_at']).where('corpid', '=', corpid).executeTakeFirst();
  return { cursor: row ? decodeSeq(row.seq) : 0n, caughtUpAt: row?.caught_up_at ?? null };
}

/** Stores a page's envelopes; one already stored is skipped. Returns how many were really inserted. */
export function storeEnvelopes(trx: Transaction<Database>, dialect: StoreDialect, envelopes: readonly NewEnvelope[]): Promise<number> {
  // Every dialect reports only rows really inserted (a skipped duplicate counts 0).
  return dialect.insertIgnoring(trx, 'envelopes', envelopes, ['corpid', 'msgid']);
}

/** Records a jump in seq that a page passed over (pull-page.ts tells a loss from a mere jump). */
export function recordGap(trx: Transaction<Database>, gap: Insertable<GapTable>): Promise<unknown> {
  return trx.insertInto('gaps').values(gap).execute();
}

/** The time of the corp's message at `seq`, when it is archived with one. */
export async function messageTimeAt(trx: Transaction<Database>, corpid: string, seq: bigint): Promise<number | null> {
  const message = await trx.selectFrom('messages').select('msgtime').where('corpid', '=', corpid).where('seq', '=', encodeSeq(seq)).executeTakeFirst();
  return message && Number(message.msgtime) > 0 ? Number(message.msgtime) : null;
}

/** Moves the cursor without a lease (a caller that holds none: a single process, the tests). */
export async function moveCursor(trx: Transaction<Database>, corpid: string, seq: string, values: Omit<Updateable<CursorTable>, 'seq'>): Promise<void> {
  await trx
    .updateTable('cursors')
    .set({ ...values, seq })
    .where('corpid', '=', corpid)
    .execute();
}

/** Records a failed pull on the cursor row (shown by status): retrying, or stopped until the configuration is fixed. */
export async function recordPullError(
  db: Kysely<Database>,
  corpid: string,
  failure: { state: 'stopped' | 'retrying'; code: number | null; message: string; at: number },
): Promise<void> {
  await db
    .updateTable('cursors')
    .set({ state: failure.state, last_error_code: failure.code, last_error: clipError(failure.message), last_pull_at: failure.at, updated_at: failure.at })
    .where('corpid', '=', corpid)
    .execute();
}
