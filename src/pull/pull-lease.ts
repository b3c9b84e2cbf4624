/**
 * The lease on a corp's pull (docs/design.md, "Scale-out"): one process at a time calls GetChatData for
 * a corp and moves its cursor. It is the row lease of store/claims on the corp's cursor row: the
 * holder takes it again before every page, which keeps it for another `ttlMs`; a holder that dies
 * lets it lapse, and on its own host it is taken over at once. The cursor is the lease's watermark:
 * a page's cursor update is made only by the holder (moveCursorAsHolder), so a process that lost the
 * lease while its page was on the way commits nothing, and the cursor never moves back.
 */
import type { Kysely, Transaction, Updateable } from 'kysely';
import { type LeaseHolder, liveHolder, RowLease, updateHeldRow } from '../store/claims/lease.ts';
import type { CursorTable, Database } from '../store/schema.ts';

export { liveHolder };
export type PullLeaseHolder = LeaseHolder;

export class PullLease extends RowLease<'cursors'> {
  constructor(db: Kysely<Database>, corpid: string, owner: string, ttlMs: number, now: () => number = Date.now) {
    super(db, 'cursors', { corpid }, owner, ttlMs, now);
  }
}

/**
 * Moves the corp's cursor to `seq` (encoded) with `values`, inside the page's transaction, only
 * while `owner` holds the pull lease and never backwards. False: nothing was written.
 */
export function moveCursorAsHolder(trx: Transaction<Database>, corpid: string, owner: string, seq: string, values: Omit<Updateable<CursorTable>, 'seq'>): Promise<boolean> {
  return updateHeldRow(trx, 'cursors', { corpid }, owner, { ...values, seq }, { column: 'seq', value: seq });
}
