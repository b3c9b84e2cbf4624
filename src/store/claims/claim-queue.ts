/**
 * A queue of work rows claimed one by one with a lease (lease.ts): the callback inbox, the directory
 * refresh queue, media jobs. A row is due when it is in the queue's ready state and its due time has
 * come; a claimed row is leased to its claimer, and one whose lease ended (or whose holder died on
 * this host) can be claimed again. A failed try is put back with a delay from the queue's backoff,
 * or given up after the policy's tries; the policy is data the stage passes in.
 *
 * Each claim is an UPDATE that succeeds only if the row still has the state and lease that were read
 * (and, in a table that records when it changed, that time), so two claimers never both get a row,
 * whatever the database, and what a claim writes from the row as read never overwrites a newer change.
 */
import { type Kysely, type Selectable, sql, type Updateable } from 'kysely';
import type { Backoff } from '../../runtime/backoff.ts';
import { HOST_OWNER_PREFIX } from '../lease-owner.ts';
import type { Database } from '../schema.ts';
import { type Cell, type ColumnOf, type LeasedTable, leaseIsTakeable, liveHolder, looseView, type RowKey, whereKey, whereSame } from './lease.ts';

/** Which columns of a table make it a queue, and what its states are called. */
export interface QueueDescriptor<T extends LeasedTable> {
  table: T;
  /** the columns that name one row */
  key: readonly ColumnOf<T>[];
  /** the state column, and its values: waiting for a try, being worked on, given up */
  state: ColumnOf<T>;
  states: { ready: string; working: string; gaveUp: string };
  /** when a ready row is due (ms) */
  due: ColumnOf<T>;
  /** tries so far */
  attempts: ColumnOf<T>;
  /** a try is counted as the row is claimed (so a crash counts) or when it fails */
  countTry: 'on claim' | 'on failure';
  /** the order in which due rows are claimed */
  order: ColumnOf<T>;
  /** set to now by every change of the queue, when the table has it */
  updatedAt?: ColumnOf<T>;
}

/** A descriptor with plain column names. */
interface LooseDescriptor {
  table: string;
  key: readonly string[];
  state: string;
  states: { ready: string; working: string; gaveUp: string };
  due: string;
  attempts: string;
  countTry: 'on claim' | 'on failure';
  order: string;
  updatedAt?: string | undefined;
}

/** When a failed try is tried again (backoff, by tries so far), and after how many tries it is given up. */
export interface RetryPolicy {
  backoff: Backoff;
  /** absent: never given up */
  maxAttempts?: number;
}

/** How a try failed: a failure that can never succeed gives up at once; `waitMs` puts the row back without counting a try. */
export interface TryFailure<T extends LeasedTable> {
  permanent?: boolean;
  /** a wait that is no failed try (something is missing that may come): not counted, never given up */
  waitMs?: number;
  /** the stage's own columns (error text …), by outcome */
  values?: (gaveUp: boolean) => Updateable<Database[T]>;
}

export interface Claimed<T extends LeasedTable> {
  claimed: Array<Selectable<Database[T]>>;
  /** due rows left alone because another live process holds them (or the claimer's own, see ClaimOptions.retakeOwn) */
  heldElsewhere: number;
}

/** Only rows whose columns have these values (a list: any of them). */
export type QueueFilter<T extends LeasedTable> = { [C in ColumnOf<T>]?: Cell | readonly Cell[] };

/** Which due rows one claim looks at, and what it writes besides the lease. */
export interface ClaimOptions<T extends LeasedTable> {
  where?: QueueFilter<T>;
  /** rows whose columns have none of these values (rows this process works on already) */
  except?: { [C in ColumnOf<T>]?: readonly Cell[] };
  /** more columns written by the claim, from the row as read (a download starting from its first byte) */
  values?: (row: Selectable<Database[T]>) => Updateable<Database[T]>;
  /**
   * Which rows still leased to the claimer itself (a try of its own that was cut off, not one in
   * hand: those are `except`) it takes back before their lease ends. Default: all of them. A stage
   * that lets a try that crashed wait out its lease, so that a row that keeps crashing its try is
   * not taken up again at once, names only the rows it knows were cut off by something else.
   */
  retakeOwn?: (row: Selectable<Database[T]>) => boolean;
  /**
   * How many due rows one claim reads to choose from (default: twice `limit`). Rows that live
   * processes of this host hold are among them (a query cannot tell them from dead ones), so a
   * claimer that takes few rows while its neighbours hold many reads more, or finds none.
   */
  scan?: number;
}

export class ClaimQueue<T extends LeasedTable> {
  constructor(
    private readonly db: Kysely<Database>,
    readonly descriptor: QueueDescriptor<T>,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Claims up to `limit` due rows for `owner` until `leaseMs` from now, in the queue's order: ready
   * rows whose due time has come and whose lease can be taken, and rows left working by a holder
   * whose lease ended or who died on this host.
   */
  async claim(owner: string, limit: number, leaseMs: number, options: ClaimOptions<T> = {}): Promise<Claimed<T>> {
    const d = this.columns();
    const db = looseView(this.db);
    const now = this.now();
    let q = db
      .selectFrom(d.table as string)
      .selectAll()
      .where((eb) => {
        const due = eb.and([eb(d.state, '=', d.states.ready), eb(d.due, '<=', now)]);
        return d.states.working === d.states.ready ? due : eb.or([due, eb(d.state, '=', d.states.working)]);
      })
      // the leases a query can tell are takeable; on this host, process by process below
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', 'like', `${HOST_OWNER_PREFIX}%`)]));
    for (const [column, value] of Object.entries(options.where ?? {}) as Array<[string, Cell | readonly Cell[]]>) {
      q = Array.isArray(value) ? q.where(column, 'in', value as Cell[]) : q.where(column, '=', value as Cell);
    }
    for (const [column, values] of Object.entries(options.except ?? {}) as Array<[string, readonly Cell[]]>) {
      if (values.length) q = q.where(column, 'not in', [...values]);
    }
    // more than wanted: live holders of this host are only told apart here, and they should not
    // take up the whole batch
    const candidates = await q
      .orderBy(d.order)
      .limit(options.scan ?? limit * 2)
      .execute();
    const claimed: Array<Selectable<Database[T]>> = [];
    let heldElsewhere = 0;
    for (const row of candidates) {
      if (claimed.length >= limit) break;
      const taken = this.mayTake(row, owner, now, options.retakeOwn) && (await this.take(row, owner, now + leaseMs, now, options.values));
      if (taken) claimed.push(taken as unknown as Selectable<Database[T]>);
      else heldElsewhere += 1;
    }
    return { claimed, heldElsewhere };
  }

  /** Whether `owner` may try to take a row read now: its lease is takeable, and a live lease of its own is one it takes back. */
  private mayTake(row: Record<string, Cell>, owner: string, now: number, retakeOwn: ClaimOptions<T>['retakeOwn']): boolean {
    const lease = { lease_owner: (row.lease_owner ?? null) as string | null, lease_until: row.lease_until ?? null };
    if (!leaseIsTakeable(lease, owner, now)) return false;
    const ownLive = liveHolder(lease, now)?.owner === owner;
    return !ownLive || retakeOwn === undefined || retakeOwn(row as unknown as Selectable<Database[T]>);
  }

  /** One compare-and-set: the row is claimed only if its state, lease and change time are still those read. */
  private async take(row: Record<string, Cell>, owner: string, until: number, now: number, more?: ClaimOptions<T>['values']): Promise<Record<string, Cell> | undefined> {
    const d = this.columns();
    const extra = more?.(row as unknown as Selectable<Database[T]>) as Record<string, Cell> | undefined;
    const lease: Record<string, Cell> = { ...extra, [d.state]: d.states.working, lease_owner: owner, lease_until: until };
    if (d.updatedAt) lease[d.updatedAt] = now;
    const countNow = d.countTry === 'on claim';
    const r = await looseView(this.db)
      .updateTable(d.table as string)
      .set(countNow ? { ...lease, [d.attempts]: sql<number>`${sql.ref(d.attempts)} + 1` } : lease)
      .where((eb) =>
        eb.and([
          whereKey(eb, this.keyOf(row)),
          eb(d.state, '=', row[d.state]!),
          whereSame(eb, 'lease_owner', row.lease_owner ?? null),
          whereSame(eb, 'lease_until', row.lease_until ?? null),
          ...(d.updatedAt ? [whereSame(eb, d.updatedAt, row[d.updatedAt] ?? null)] : []),
          ...(row[d.state] === d.states.ready ? [eb(d.due, '<=', now)] : []),
        ]),
      )
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    return { ...row, ...lease, ...(countNow ? { [d.attempts]: Number(row[d.attempts]) + 1 } : {}) };
  }

  /** The descriptor with its column names as plain strings, for queries on the loose view. */
  private columns(): LooseDescriptor {
    return this.descriptor;
  }

  /** The key of a row. */
  keyOf(row: Readonly<Record<string, unknown>>): RowKey<T> {
    return Object.fromEntries(this.descriptor.key.map((column) => [column, row[column]])) as RowKey<T>;
  }

  /** The try succeeded: the row gets `values` and its lease is given back; nothing when the lease was lost. */
  async finish(key: RowKey<T>, owner: string, values: Updateable<Database[T]>): Promise<boolean> {
    return this.updateHeld(key, owner, { ...(values as Record<string, Cell>), lease_owner: null, lease_until: null });
  }

  /** The try succeeded and the row is no longer needed: deleted, unless the lease was lost (or taken back by a new request). */
  async remove(key: RowKey<T>, owner: string): Promise<boolean> {
    const r = await looseView(this.db)
      .deleteFrom(this.descriptor.table as string)
      .where((eb) => whereKey(eb, key))
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /**
   * The try failed: the row is due again after the policy's backoff, or given up (permanent, or its
   * tries reached maxAttempts). `row` needs its key and attempts as claimed. The lease is given
   * back. Says what was decided; `written` is false when the lease was lost meanwhile (nothing written).
   */
  async fail(row: RowKey<T>, owner: string, policy: RetryPolicy, failure: TryFailure<T> = {}): Promise<{ gaveUp: boolean; tries: number; nextAt: number; written: boolean }> {
    const d = this.columns();
    const now = this.now();
    const attempts = Number((row as Record<string, unknown>)[d.attempts]);
    const counted = failure.waitMs === undefined;
    const tries = d.countTry === 'on claim' || !counted ? attempts : attempts + 1;
    const gaveUp = counted && (failure.permanent === true || (policy.maxAttempts !== undefined && tries >= policy.maxAttempts));
    const nextAt = gaveUp ? now : now + (failure.waitMs ?? policy.backoff.delayMs(tries));
    const values: Record<string, Cell> = {
      ...(failure.values?.(gaveUp) as Record<string, Cell> | undefined),
      [d.state]: gaveUp ? d.states.gaveUp : d.states.ready,
      [d.due]: nextAt,
      lease_owner: null,
      lease_until: null,
    };
    if (d.countTry === 'on failure' && counted) values[d.attempts] = tries;
    const written = await this.updateHeld(this.keyOf(row as Record<string, unknown>), owner, values);
    return { gaveUp, tries, nextAt, written };
  }

  private async updateHeld(key: RowKey<T>, owner: string, values: Record<string, Cell>): Promise<boolean> {
    const d = this.columns();
    if (d.updatedAt) values = { ...values, [d.updatedAt]: this.now() };
    const r = await looseView(this.db)
      .updateTable(d.table as string)
      .set(values)
      .where((eb) => whereKey(eb, key))
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
