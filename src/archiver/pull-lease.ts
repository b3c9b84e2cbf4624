/**
 * The lease on a corp's pull (design.md, "Scale-out"): one process at a time calls GetChatData for
 * a corp and moves its cursor. The holder takes it again before every page, which keeps it for
 * another `ttlMs`; a holder that dies lets it lapse, and on its own host it is taken over at once.
 * The cursor update of a page is made only by the holder (pull-page.ts), so a process that lost the
 * lease while its page was on the way commits nothing, and the cursor never moves back.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { ownerIsDeadHere } from '../store/lease-owner.ts';

export interface PullLeaseHolder {
  owner: string;
  until: number;
}

/** The holder a cursor row names, if its lease has not ended (an ended lease is nobody's). */
export function liveHolder(row: { lease_owner: string | null; lease_until: number | null }, now: number): PullLeaseHolder | undefined {
  if (row.lease_owner === null || row.lease_until === null || Number(row.lease_until) < now) return undefined;
  return { owner: row.lease_owner, until: Number(row.lease_until) };
}

export class PullLease {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly corpid: string,
    readonly owner: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes the lease, or keeps it for another ttlMs: `held` when this process holds it now; else
   * another process that is alive (or on another host, until its lease ends) holds it: `holder`
   * says which (undefined when its lease ended just now).
   */
  async acquire(): Promise<{ held: true } | { held: false; holder: PullLeaseHolder | undefined }> {
    const now = this.now();
    const until = now + this.ttlMs;
    const r = await this.db.updateTable('cursors').set({ lease_owner: this.owner, lease_until: until })
      .where('corpid', '=', this.corpid)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', this.owner), eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    // rows matched, also on MariaDB (the driver asks for found rows), so a renewal always counts 1
    if (Number(r.numUpdatedRows) === 1) return { held: true };
    const row = await this.db.selectFrom('cursors').select(['lease_owner', 'lease_until']).where('corpid', '=', this.corpid).executeTakeFirst();
    const holder = row && liveHolder(row, this.now());
    // a holder of this host whose process is gone: its lease is taken over at once, by one taker
    if (!holder || !ownerIsDeadHere(holder.owner)) return { held: false, holder };
    const taken = await this.db.updateTable('cursors').set({ lease_owner: this.owner, lease_until: until })
      .where('corpid', '=', this.corpid).where('lease_owner', '=', holder.owner)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1 ? { held: true } : { held: false, holder: undefined };
  }

  /** Gives the lease up (if this process still holds it), so another process can pull at once. */
  async release(): Promise<void> {
    await this.db.updateTable('cursors').set({ lease_owner: null, lease_until: null })
      .where('corpid', '=', this.corpid).where('lease_owner', '=', this.owner)
      .execute();
  }
}
