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

export class PullLease {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly corpid: string,
    readonly owner: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes the lease, or keeps it for another ttlMs: true when this process holds it now; false when
   * another process that is alive (or on another host, until its lease ends) holds it.
   */
  async acquire(): Promise<boolean> {
    const now = this.now();
    const until = now + this.ttlMs;
    const r = await this.db.updateTable('cursors').set({ lease_owner: this.owner, lease_until: until })
      .where('corpid', '=', this.corpid)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', this.owner), eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .executeTakeFirst();
    // rows matched, also on MariaDB (the driver asks for found rows), so a renewal always counts 1
    if (Number(r.numUpdatedRows) === 1) return true;
    // a holder of this host whose process is gone: its lease is taken over at once, by one taker
    const holder = await this.holder();
    if (!holder || !ownerIsDeadHere(holder.owner)) return false;
    const taken = await this.db.updateTable('cursors').set({ lease_owner: this.owner, lease_until: until })
      .where('corpid', '=', this.corpid).where('lease_owner', '=', holder.owner)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }

  /** Who holds the lease now, if anybody (an expired lease is nobody's). */
  async holder(): Promise<PullLeaseHolder | undefined> {
    const row = await this.db.selectFrom('cursors').select(['lease_owner', 'lease_until']).where('corpid', '=', this.corpid).executeTakeFirst();
    if (!row?.lease_owner || row.lease_until === null || Number(row.lease_until) < this.now()) return undefined;
    return { owner: row.lease_owner, until: Number(row.lease_until) };
  }

  /** Gives the lease up (if this process still holds it), so another process can pull at once. */
  async release(): Promise<void> {
    await this.db.updateTable('cursors').set({ lease_owner: null, lease_until: null })
      .where('corpid', '=', this.corpid).where('lease_owner', '=', this.owner)
      .execute();
  }
}
