/**
 * The append-only audit log. Each row carries the SHA-256 of a canonical serialization of its own
 * fields and of the previous row's hash, so changing, removing or inserting a row breaks the chain
 * at that row, and `verify` names it.
 *
 * Appends are serialized by the `audit_head` row: an append first updates it (a row lock on
 * PostgreSQL and MariaDB, the write lock on SQLite), takes the next id and the last hash from it,
 * inserts the row and moves the head on, all in one transaction. Two processes appending at once
 * therefore wait for each other and the chain never forks; a crash rolls the whole append back.
 * This module has no update or delete of audit rows.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ValidationError } from '../errors/errors.ts';
import { inTransaction } from '../store/in-transaction.ts';
import type { AuditLogTable, Database } from '../store/schema.ts';
import { ACCOUNT_ROLES } from '../store/vocabulary.ts';
import type { AuditEntry, AuditTrail } from './caller.ts';
import { storableText } from './storable-text.ts';

/** The previous hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** Widths of the audit columns: a longer value (a hostile user agent) is cut, then hashed as stored. */
const WIDTH = { username: 191, action: 64, corpid: 64, conversation: 400, reason: 1000, ip: 64, user_agent: 512, request_id: 128 } as const;
/** A query larger than this is not kept whole: the row says so instead. */
const QUERY_MAX = 16_000;

/** One audit row as read back. */
export type AuditRow = AuditLogTable;

export type ChainCheck =
  | { readonly ok: true; readonly rows: number }
  /** `brokenId`: the first row whose hash or link does not hold (or, rows cut off at the end, the first missing id) */
  | { readonly ok: false; readonly rows: number; readonly brokenId: number; readonly why: string };

/** The SHA-256 (hex) of a row's fields and its previous hash, in a fixed order. */
export function auditRowHash(row: Omit<AuditRow, 'hash'>): string {
  const fields = [
    row.id,
    row.at,
    row.user_id,
    row.username,
    row.role,
    row.action,
    row.corpid,
    row.conversation,
    row.query,
    row.items,
    row.reason,
    row.ip,
    row.user_agent,
    row.request_id,
    row.prev_hash,
  ];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('hex');
}

/** JSON with object keys sorted at every level: the same query always reads (and hashes) the same. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function count(value: number | undefined, what: string): number | null {
  if (value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError('AUDIT_ENTRY_INVALID', `audit ${what} must be a whole number ≥ 0, got ${value}`);
  return value;
}

/** The audit log over one store. `now` is the clock (tests move it). */
export class AuditLog implements AuditTrail {
  readonly #db: Kysely<Database>;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, options: { now?: () => number } = {}) {
    this.#db = db;
    this.#now = options.now ?? Date.now;
  }

  /** Appends one row in a transaction of its own; resolves once it is committed. */
  record(entry: AuditEntry): Promise<void> {
    return this.#db.transaction().execute(async (trx) => void (await this.append(trx, entry)));
  }

  /**
   * Appends one row inside the caller's transaction (a change and its audit row commit together).
   * Lock the head first (`lockHead`) when the transaction reads before it writes, so that SQLite
   * takes its write lock before any snapshot is read.
   */
  async append(db: Kysely<Database>, entry: AuditEntry): Promise<number> {
    if (!entry.action) throw new ValidationError('AUDIT_ENTRY_INVALID', 'an audit entry needs an action');
    if (entry.role !== undefined && !ACCOUNT_ROLES.includes(entry.role)) throw new ValidationError('AUDIT_ENTRY_INVALID', `audit role ${String(entry.role)} is not a role`);
    let query = entry.query === undefined ? null : canonicalJson(entry.query);
    if (query !== null && query.length > QUERY_MAX) query = canonicalJson({ truncated: true, length: query.length, start: query.slice(0, 1000) });
    return inTransaction(db, async (trx) => {
      // the increment is the lock: the next append waits here until this transaction ends
      await trx
        .updateTable('audit_head')
        .set((eb) => ({ last_id: eb('last_id', '+', 1) }))
        .where('id', '=', 1)
        .execute();
      const head = await trx.selectFrom('audit_head').select(['last_id', 'last_hash']).where('id', '=', 1).executeTakeFirstOrThrow();
      const row: Omit<AuditRow, 'hash'> = {
        id: Number(head.last_id),
        at: this.#now(),
        user_id: count(entry.userId, 'user id'),
        username: storableText(entry.username, WIDTH.username) ?? '',
        role: entry.role ?? null,
        action: storableText(entry.action, WIDTH.action) ?? '',
        corpid: storableText(entry.corpid, WIDTH.corpid),
        conversation: storableText(entry.conversation, WIDTH.conversation),
        query,
        items: count(entry.items, 'item count'),
        reason: storableText(entry.reason, WIDTH.reason),
        ip: storableText(entry.ip, WIDTH.ip),
        user_agent: storableText(entry.userAgent, WIDTH.user_agent),
        request_id: storableText(entry.requestId, WIDTH.request_id),
        prev_hash: head.last_hash,
      };
      const hash = auditRowHash(row);
      await trx
        .insertInto('audit_log')
        .values({ ...row, hash })
        .execute();
      await trx.updateTable('audit_head').set({ last_hash: hash }).where('id', '=', 1).execute();
      return row.id;
    });
  }

  /**
   * Takes the append lock inside `trx` without appending: an UPDATE that changes nothing still
   * locks the row (and, on SQLite, takes the database's write lock).
   */
  async lockHead(trx: Kysely<Database>): Promise<void> {
    await trx
      .updateTable('audit_head')
      .set((eb) => ({ last_id: eb.ref('last_id') }))
      .where('id', '=', 1)
      .execute();
  }

  /** Walks the whole chain in id order; names the first row that breaks it. */
  async verify(): Promise<ChainCheck> {
    let expectedId = 1;
    let prev = GENESIS_HASH;
    let rows = 0;
    for (;;) {
      const page = await this.#db.selectFrom('audit_log').selectAll().where('id', '>=', expectedId).orderBy('id').limit(1000).execute();
      for (const raw of page) {
        const row = numeric(raw);
        if (row.id !== expectedId) return { ok: false, rows, brokenId: expectedId, why: `row ${expectedId} is missing` };
        if (row.prev_hash !== prev) return { ok: false, rows, brokenId: row.id, why: 'its previous hash is not the hash of the row before it' };
        if (auditRowHash(row) !== row.hash) return { ok: false, rows, brokenId: row.id, why: 'its content does not match its hash' };
        prev = row.hash;
        expectedId++;
        rows++;
      }
      if (page.length < 1000) break;
    }
    const head = await this.#db.selectFrom('audit_head').select(['last_id', 'last_hash']).where('id', '=', 1).executeTakeFirst();
    if (!head) return { ok: false, rows, brokenId: expectedId, why: 'the chain head is missing' };
    if (Number(head.last_id) !== rows || head.last_hash !== prev)
      return { ok: false, rows, brokenId: expectedId, why: `the log ends at row ${rows}, but its head says ${Number(head.last_id)} rows were written` };
    return { ok: true, rows };
  }

  /** The rows written at or after `since` (and before `until`), in order, a page at a time. */
  async *rowsBetween(since: number, until: number | undefined): AsyncGenerator<AuditRow> {
    let after = 0;
    for (;;) {
      let q = this.#db.selectFrom('audit_log').selectAll().where('id', '>', after).where('at', '>=', since);
      if (until !== undefined) q = q.where('at', '<', until);
      const page = await q.orderBy('id').limit(1000).execute();
      for (const row of page) yield numeric(row);
      if (page.length < 1000) return;
      after = Number(page[page.length - 1]!.id);
    }
  }
}

/** What a page of the audit log is asked for; every field narrows it. */
export interface AuditFilters {
  /** the username the row names */
  readonly user?: string;
  readonly action?: string;
  /** rows written at or after this time (ms) */
  readonly since?: number;
  /** rows after this id: the `next` of the page before */
  readonly after?: number;
  /** only rows of these corps (an auditor's); undefined: every row */
  readonly corpids?: readonly string[];
  readonly limit: number;
}

export interface AuditPage {
  readonly rows: readonly AuditRow[];
  /** the id to pass as `after` for the next page; undefined at the end */
  readonly next: number | undefined;
}

/**
 * One page of audit rows in the order they were written, by keyset on the id (rows are only ever
 * appended, so a page never shifts). An empty `corpids` list reads no row.
 */
export async function auditPage(db: Kysely<Database>, filters: AuditFilters): Promise<AuditPage> {
  if (filters.corpids !== undefined && filters.corpids.length === 0) return { rows: [], next: undefined };
  let q = db.selectFrom('audit_log').selectAll();
  if (filters.after !== undefined) q = q.where('id', '>', filters.after);
  if (filters.since !== undefined) q = q.where('at', '>=', filters.since);
  if (filters.user !== undefined) q = q.where('username', '=', filters.user);
  if (filters.action !== undefined) q = q.where('action', '=', filters.action);
  if (filters.corpids !== undefined) q = q.where('corpid', 'in', [...filters.corpids]);
  const rows = (
    await q
      .orderBy('id')
      .limit(filters.limit + 1)
      .execute()
  ).map(numeric);
  const page = rows.slice(0, filters.limit);
  return { rows: page, next: rows.length > filters.limit ? page[page.length - 1]!.id : undefined };
}

/** A row with its integer columns as numbers, whatever the driver returned. */
function numeric(row: AuditRow): AuditRow {
  const n = (v: number | null) => (v === null ? null : Number(v));
  return { ...row, id: Number(row.id), at: Number(row.at), user_id: n(row.user_id), items: n(row.items) };
}
