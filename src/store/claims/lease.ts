/**
 * A lease on one row, the one claim rule every background stage uses: a row names its holder
 * (`lease_owner`, a `host/pid/random` name from lease-owner.ts) and until when (`lease_until`, ms).
 * - a lease that has ended is free;
 * - a lease whose holder is a process of this host that no longer exists is taken over at once, by
 *   exactly one taker (the take is a compare-and-set on the holder and expiry it read);
 * - a holder takes its own lease again to renew it.
 * Every take is an UPDATE whose WHERE holds these rules, so two processes never both hold a row.
 * Work done under a lease is committed only while the lease is still held (updateHeldRow), so a
 * process that lost its lease commits nothing.
 *
 * The module is generic over the table: any table with lease_owner and lease_until columns, its
 * rows named by their key columns. Its queries see the table through LooseDatabase (columns named
 * at run time); what callers get back is typed by the schema.
 */
import type { Expression, ExpressionBuilder, Kysely, Selectable, SqlBool, Transaction, Updateable } from 'kysely';
import { ownerIsDeadHere } from '../lease-owner.ts';
import type { Database } from '../schema.ts';

/** The two columns every leased row has. */
export interface LeaseColumns {
  lease_owner: string | null;
  lease_until: number | null;
}

/** The tables whose rows carry a lease. */
export type LeasedTable = { [T in keyof Database]: Database[T] extends LeaseColumns ? T : never }[keyof Database];

/** A column of a table, as its rows are read. */
export type ColumnOf<T extends keyof Database> = keyof Selectable<Database[T]> & string;

/** One row of a table, named by the values of its key columns. */
export type RowKey<T extends keyof Database> = Partial<Selectable<Database[T]>>;

/** A value of a column the claim queries compare or write. */
export type Cell = string | number | null;

/** A table seen with columns named at run time; only this module and claim-queue.ts use it. */
export type LooseDatabase = Record<string, Record<string, Cell>>;

/** The database as the claim queries see it (a view: same connection, same transaction). */
export function looseView(db: Kysely<Database> | Transaction<Database>): Kysely<LooseDatabase> {
  return db as unknown as Kysely<LooseDatabase>;
}

/** `column = value` for every column of a key. */
export function whereKey(eb: ExpressionBuilder<LooseDatabase, string>, key: Readonly<Record<string, unknown>>) {
  return eb.and(Object.entries(key).map(([column, value]) => eb(column, '=', value as Cell)));
}

/** `column IS NULL` or `column = value`: the value a compare-and-set read, null included. */
export function whereSame(eb: ExpressionBuilder<LooseDatabase, string>, column: string, value: Cell) {
  return value === null ? eb(column, 'is', null) : eb(column, '=', value);
}

export interface LeaseHolder {
  owner: string;
  until: number;
}

/** What a take of a lease found: held by the taker now, or by another process (`holder`, if it is still known). */
export type LeaseAnswer = { held: true } | { held: false; holder: LeaseHolder | undefined };

/** The holder a row names, if its lease has not ended (an ended lease is nobody's). */
export function liveHolder(row: { lease_owner: string | null; lease_until: number | string | null }, now: number): LeaseHolder | undefined {
  if (row.lease_owner === null || row.lease_until === null || Number(row.lease_until) < now) return undefined;
  return { owner: row.lease_owner, until: Number(row.lease_until) };
}

/** Whether `owner` may take a row whose lease reads `row` now: free, its own, or its holder is dead on this host. */
export function leaseIsTakeable(row: { lease_owner: string | null; lease_until: number | string | null }, owner: string, now: number): boolean {
  const holder = liveHolder(row, now);
  return holder === undefined || holder.owner === owner || ownerIsDeadHere(holder.owner);
}

/** The part of the rule a query can check by itself: the lease is free, has ended, or is `owner`'s. */
export function whereFreeOrOwn(eb: ExpressionBuilder<LooseDatabase, string>, owner: string, now: number) {
  return eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', 'is', null), eb('lease_until', '<', now)]);
}

/**
 * A condition on a leased row besides its lease, part of the take's WHERE: the lease is taken only
 * while the row is still as the taker read it (an alert incident still unsent, its backoff passed).
 */
export type RowCondition<T extends LeasedTable> = (eb: ExpressionBuilder<Database, T>) => Expression<SqlBool>;

/** A column that only moves forward: an update of the row never sets it below what it holds. */
export interface Watermark<T extends keyof Database> {
  column: ColumnOf<T>;
  /** the new value; text columns compare as text, so they hold fixed-width values (seq-codec.ts) */
  value: string | number;
}

/**
 * Updates the leased row inside the caller's transaction, only while `owner` holds its lease (and,
 * with a watermark, only if that does not move the watermark back). False: the lease was lost (or
 * the watermark is already past `value`), nothing was written, and the caller should roll back.
 */
export async function updateHeldRow<T extends LeasedTable>(
  trx: Transaction<Database> | Kysely<Database>,
  table: T,
  key: RowKey<T>,
  owner: string,
  values: Updateable<Database[T]>,
  watermark?: Watermark<T>,
): Promise<boolean> {
  let update = looseView(trx)
    .updateTable(table as string)
    .set(values as Record<string, Cell>)
    .where((eb) => whereKey(eb, key))
    .where('lease_owner', '=', owner);
  if (watermark) update = update.where(watermark.column as string, '<=', watermark.value);
  const r = await update.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** takes of a lease that found it free on reading it back, before answering "held by nobody we know" */
const ACQUIRE_TRIES = 3;

/**
 * The lease on one row of `table` (a corp's pull on its cursor row, an alert incident being sent).
 * `acquire` takes it or renews it for another `ttlMs` (only while a condition on the row holds, when
 * it is given one); `release` gives it up; `updateIfHeld` commits work only while it is held.
 */
export class RowLease<T extends LeasedTable> {
  constructor(
    private readonly db: Kysely<Database>,
    readonly table: T,
    readonly key: RowKey<T>,
    readonly owner: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes the lease, or renews it: `held` when this owner holds it now; else another process that
   * is alive (or on another host, until its lease ends) holds it, and `holder` says which
   * (undefined when that lease ended just now, the row is gone, or `when` does not hold).
   * `when`, a condition on the row, is part of every take, the take-over of a dead holder's included.
   */
  async acquire(when?: RowCondition<T>): Promise<LeaseAnswer> {
    let answer = await this.tryAcquire(when);
    // the lease was free when read back: it ended, or its holder gave it up, between the take and the
    // read (a holder may give a lease straight back when it has no room for the work). Asked again,
    // it is taken, or its new holder is named; a caller that heard "held by nobody" might otherwise
    // leave the row to a process that no longer works on it
    for (let i = 1; i < ACQUIRE_TRIES && !answer.held && answer.holder === undefined; i++) answer = await this.tryAcquire(when);
    return answer;
  }

  private async tryAcquire(when: RowCondition<T> | undefined): Promise<LeaseAnswer> {
    const db = looseView(this.db);
    const now = this.now();
    const lease = { lease_owner: this.owner, lease_until: now + this.ttlMs };
    const condition = (eb: ExpressionBuilder<LooseDatabase, string>) => (when ? [when(eb as unknown as ExpressionBuilder<Database, T>)] : []);
    // counts 1 also for a renewal that writes the values already there (StoreDialect.updateCounts)
    const r = await db
      .updateTable(this.table as string)
      .set(lease)
      .where((eb) => eb.and([whereKey(eb, this.key), whereFreeOrOwn(eb, this.owner, now), ...condition(eb)]))
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return { held: true };
    const row = await db
      .selectFrom(this.table as string)
      .select(['lease_owner', 'lease_until'])
      .where((eb) => whereKey(eb, this.key))
      .executeTakeFirst();
    const holder = row && liveHolder({ lease_owner: (row.lease_owner ?? null) as string | null, lease_until: row.lease_until ?? null }, this.now());
    if (!holder || !ownerIsDeadHere(holder.owner)) return { held: false, holder };
    // its holder's process is gone: one take, conditional on the lease read, so one taker wins
    const taken = await db
      .updateTable(this.table as string)
      .set(lease)
      .where((eb) => eb.and([whereKey(eb, this.key), eb('lease_owner', '=', holder.owner), eb('lease_until', '=', holder.until), ...condition(eb)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1 ? { held: true } : { held: false, holder: undefined };
  }

  /** Gives the lease up, if this owner still holds it, so another process can take it at once. */
  async release(): Promise<void> {
    await looseView(this.db)
      .updateTable(this.table as string)
      .set({ lease_owner: null, lease_until: null })
      .where((eb) => whereKey(eb, this.key))
      .where('lease_owner', '=', this.owner)
      .execute();
  }

  /** updateHeldRow on this lease's row: false when the lease was lost (nothing written). */
  updateIfHeld(trx: Transaction<Database> | Kysely<Database>, values: Updateable<Database[T]>, watermark?: Watermark<T>): Promise<boolean> {
    return updateHeldRow(trx, this.table, this.key, this.owner, values, watermark);
  }
}
