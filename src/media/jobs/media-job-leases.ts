/**
 * How the media stage holds its jobs: a lease (owner, expiry) on each row, taken by a
 * compare-and-set, renewed while the job runs, and given back when it ends. Every lease query on
 * the `media` table is here, behind one small interface, so a shared claim mechanism can take it
 * over without the stage changing.
 */
import type { Kysely } from 'kysely';
import { HOST_OWNER_PREFIX, ownerIsDeadHere } from '../../store/lease-owner.ts';
import type { Database, MediaJob, MediaTable } from '../../store/schema.ts';

/** Columns of a job its holder may write (never its id). */
export type MediaJobUpdate = Partial<Omit<MediaTable, 'id'>>;

export interface ClaimRequest {
  /** who takes the lease: host/pid/random */
  owner: string;
  now: number;
  /** the lease is the owner's until now + leaseMs, unless renewed */
  leaseMs: number;
  /** the owner's own unexpired lease may be taken again (its job was cut off, not crashed) */
  retakeOwn: boolean;
  /** further columns written by the same update (a download from the first byte counted) */
  set: MediaJobUpdate;
}

export type ClaimOutcome =
  | { kind: 'claimed'; job: MediaJob }
  /** a live process holds the lease */
  | { kind: 'held'; holder: string }
  /** the row changed since it was read (another process took it or put it back) */
  | { kind: 'changed' };

export interface MediaJobLeases {
  /**
   * Rows of the corp that can be tried now and that no other process holds (lease ended, none,
   * or one of this host, whose holder may be gone), by id; `exclude`: rows already running here.
   */
  claimable(corpid: string, now: number, exclude: ReadonlySet<number>, limit: number): Promise<MediaJob[]>;
  /**
   * Takes the lease of a row read by `claimable`. It is left alone while a live process holds it;
   * otherwise it is taken by an update that only succeeds if the row has not changed since it was
   * read (same updated_at, state and lease owner), so a row another process took or put back in
   * the meantime is not taken twice. The job is marked downloading.
   */
  claim(row: MediaJob, request: ClaimRequest): Promise<ClaimOutcome>;
  /** Writes `values` if `owner` still holds the job's lease; false when another process took it. */
  updateHeld(id: number, owner: string, values: MediaJobUpdate, now: number): Promise<boolean>;
  /** Gives the lease back, so any process may take the job up at once; false when not held. */
  release(id: number, owner: string, now: number): Promise<boolean>;
}

/** The leases of media jobs as rows of the `media` table. */
export function mediaJobLeases(db: Kysely<Database>): MediaJobLeases {
  const updateHeld = async (id: number, owner: string, values: MediaJobUpdate, now: number): Promise<boolean> => {
    const r = await db.updateTable('media').set({ ...values, updated_at: now })
      .where('id', '=', id).where('lease_owner', '=', owner).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  };
  return {
    async claimable(corpid, now, exclude, limit) {
      let q = db.selectFrom('media').selectAll()
        .where('corpid', '=', corpid)
        .where('state', 'in', ['pending', 'downloading'])
        .where('next_try_at', '<=', now)
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', 'like', `${HOST_OWNER_PREFIX}%`)]));
      if (exclude.size) q = q.where('id', 'not in', [...exclude]);
      return q.orderBy('id').limit(limit).execute();
    },
    async claim(row, { owner, now, leaseMs, retakeOwn, set }) {
      const leased = row.lease_owner !== null && row.lease_until !== null && Number(row.lease_until) >= now;
      const ownRetaken = retakeOwn && row.lease_owner === owner;
      if (leased && !ownRetaken && !ownerIsDeadHere(row.lease_owner!)) return { kind: 'held', holder: row.lease_owner! };
      const claim: MediaJobUpdate = { ...set, lease_owner: owner, lease_until: now + leaseMs, state: 'downloading', updated_at: now };
      const r = await db.updateTable('media').set(claim)
        .where('id', '=', row.id)
        .where('updated_at', '=', row.updated_at)
        .where('state', '=', row.state)
        .where((eb) => (row.lease_owner === null ? eb('lease_owner', 'is', null) : eb('lease_owner', '=', row.lease_owner)))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return { kind: 'changed' };
      return { kind: 'claimed', job: { ...row, ...claim } as MediaJob };
    },
    updateHeld,
    release: (id, owner, now) => updateHeld(id, owner, { lease_owner: null, lease_until: null }, now),
  };
}
