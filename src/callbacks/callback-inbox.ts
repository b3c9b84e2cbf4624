/**
 * The callback inbox (table callback_inbox): every accepted callback is stored here before the
 * endpoint replies, then handled by workers that claim rows (store/claims: a conditional update on
 * one row's state and lease), so any number of processes can work the same inbox without a broker and
 * without two of them handling one event; a worker that dies leaves a lease that expires.
 * A retried delivery (same decrypted event) has the same dedup key and is stored only once.
 */
import type { Kysely } from 'kysely';
import { clipError } from '../runtime/clip.ts';
import { ClaimQueue, type QueueDescriptor, type RetryPolicy } from '../store/claims/claim-queue.ts';
import type { CallbackInboxRow, Database } from '../store/schema.ts';
import type { InboxKind } from './callback-events.ts';
import type { InboxState } from '../store/vocabulary.ts';

export type { InboxState };

export interface InboxEntry {
  corpid: string;
  app: string;
  dedupKey: string;
  kind: InboxKind;
  event: string | null;
  changeType: string | null;
  body: string;
  remoteAddr: string | null;
  eventTime: number | null;
  /** 'pending' for events to handle; 'ignored' (unknown events) and 'failed' (invalid) are stored as such */
  state: 'pending' | 'ignored' | 'failed';
  lastError?: string | null;
}

export interface InboxRow {
  id: number;
  corpid: string;
  app: string;
  kind: string;
  event: string | null;
  changeType: string | null;
  body: string;
  attempts: number;
  receivedAt: number;
}

export interface InboxFailure {
  id: number;
  app: string;
  event: string | null;
  changeType: string | null;
  attempts: number;
  error: string | null;
  receivedAt: number;
}

export interface InboxSummary {
  pending: number;
  failed: number;
  ignored: number;
  done: number;
  lastReceivedAt: number | null;
  latestFailures: InboxFailure[];
}

/**
 * The inbox as a claim queue: a row being handled is `working`; a try is counted as it is claimed,
 * so a handler that takes its process down counts as a try too.
 */
export const INBOX_QUEUE: QueueDescriptor<'callback_inbox'> = {
  table: 'callback_inbox',
  key: ['id'],
  state: 'state',
  states: { ready: 'pending', working: 'working', gaveUp: 'failed' },
  due: 'next_attempt_at',
  attempts: 'attempts',
  countTry: 'on claim',
  order: 'id',
  updatedAt: 'updated_at',
};

/** The kind of an event that failed to parse: stored to be seen, never handled, so never replayed. */
const UNREPLAYABLE: InboxKind = 'invalid';

export class CallbackInbox {
  private readonly queue: ClaimQueue<'callback_inbox'>;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly now: () => number = Date.now,
  ) {
    this.queue = new ClaimQueue(db, INBOX_QUEUE, now);
  }

  /**
   * Stores an accepted callback. `duplicate` is true when the same event was stored before (WeCom
   * retried): the caller acknowledges it again and nothing is handled twice.
   */
  async store(entry: InboxEntry): Promise<{ id: number; duplicate: boolean }> {
    const existing = await this.findByKey(entry.corpid, entry.dedupKey);
    if (existing !== undefined) return { id: existing, duplicate: true };
    const now = this.now();
    try {
      await this.db
        .insertInto('callback_inbox')
        .values({
          corpid: entry.corpid,
          app: entry.app,
          dedup_key: entry.dedupKey,
          kind: entry.kind,
          event: entry.event?.slice(0, 64) ?? null,
          change_type: entry.changeType?.slice(0, 64) ?? null,
          body: entry.body,
          remote_addr: entry.remoteAddr?.slice(0, 64) ?? null,
          event_time: entry.eventTime,
          state: entry.state,
          attempts: 0,
          next_attempt_at: now,
          lease_owner: null,
          lease_until: null,
          last_error: entry.lastError ?? null,
          received_at: now,
          updated_at: now,
          done_at: entry.state === 'pending' ? null : now,
        })
        .execute();
    } catch (err) {
      // Two deliveries racing: the unique key let one in; the other is a duplicate.
      const raced = await this.findByKey(entry.corpid, entry.dedupKey);
      if (raced !== undefined) return { id: raced, duplicate: true };
      throw err;
    }
    const id = await this.findByKey(entry.corpid, entry.dedupKey);
    return { id: id ?? 0, duplicate: false };
  }

  private async findByKey(corpid: string, dedupKey: string): Promise<number | undefined> {
    const row = await this.db.selectFrom('callback_inbox').select('id').where('corpid', '=', corpid).where('dedup_key', '=', dedupKey).executeTakeFirst();
    return row === undefined ? undefined : Number(row.id);
  }

  /**
   * Claims up to `limit` due rows for `owner` until `leaseMs` from now (the claim rules of
   * store/claims): pending rows whose time has come, and rows whose previous worker's lease ran out
   * or who died on this host. Only kinds in `kinds` when given.
   */
  async claim(owner: string, limit: number, leaseMs: number, kinds?: readonly InboxKind[]): Promise<InboxRow[]> {
    const { claimed } = await this.queue.claim(owner, limit, leaseMs, kinds ? { where: { kind: [...kinds] } } : {});
    return claimed.map((r) => ({ ...describedBy(r), body: r.body, attempts: Number(r.attempts) }));
  }

  async complete(id: number, owner: string): Promise<void> {
    await this.queue.finish({ id }, owner, { state: 'done', last_error: null, done_at: this.now() });
  }

  /**
   * A failed try: due again after the policy's backoff, or `failed` for good (visible in status,
   * replayable) when `permanent` or after the policy's tries. Says whether it was given up.
   */
  async fail(row: Pick<InboxRow, 'id' | 'attempts'>, owner: string, error: string, policy: RetryPolicy, permanent: boolean): Promise<{ gaveUp: boolean }> {
    const { gaveUp } = await this.queue.fail({ id: row.id, attempts: row.attempts }, owner, policy, {
      permanent,
      values: (final) => ({ last_error: clipError(error), ...(final ? { done_at: this.now() } : {}) }),
    });
    return { gaveUp };
  }

  /**
   * msgaudit_notify only says "there is new data": one wake covers every notify of the corp that
   * arrived before it, so those are marked done together (the debounce at the storage level).
   */
  async completeEarlierNotifies(corpid: string, upToId: number): Promise<number> {
    const now = this.now();
    const r = await this.db
      .updateTable('callback_inbox')
      .set({ state: 'done', done_at: now, updated_at: now, last_error: null })
      .where('corpid', '=', corpid)
      .where('kind', '=', 'msgaudit_notify')
      .where('state', '=', 'pending')
      .where('id', '<', upToId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * Puts failed events back to pending with their tries restored. By id, or all failed of a corp (or
   * all); both when both are given (an id of another corp is left alone). A malformed event stays failed.
   */
  async replay(filter: { id?: number; corpid?: string }): Promise<number> {
    const now = this.now();
    let q = this.db
      .updateTable('callback_inbox')
      .set({ state: 'pending', attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null, done_at: null, updated_at: now })
      .where('state', '=', 'failed')
      .where('kind', '!=', UNREPLAYABLE);
    if (filter.id !== undefined) q = q.where('id', '=', filter.id);
    if (filter.corpid !== undefined) q = q.where('corpid', '=', filter.corpid);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async list(filter: { corpid?: string; state?: InboxState; limit?: number }): Promise<Array<InboxFailure & { corpid: string; state: string; kind: string }>> {
    let q = this.db.selectFrom('callback_inbox').select(['id', 'corpid', 'app', 'kind', 'event', 'change_type', 'state', 'attempts', 'last_error', 'received_at']);
    if (filter.corpid !== undefined) q = q.where('corpid', '=', filter.corpid);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map((r) => ({ ...describedBy(r), state: r.state, attempts: r.attempts, error: r.last_error }));
  }

  /**
   * The corp's latest failed events, newest first: which event, why and how often it was tried, never
   * its payload. `replayable`: whether `replay` takes it back (a malformed event never works).
   */
  async failures(corpid: string, limit: number): Promise<Array<InboxFailure & { kind: string; replayable: boolean }>> {
    const rows = await this.list({ corpid, state: 'failed', limit });
    return rows.map((r) => ({
      id: r.id,
      app: r.app,
      kind: r.kind,
      event: r.event,
      changeType: r.changeType,
      attempts: Number(r.attempts),
      error: r.error,
      receivedAt: r.receivedAt,
      replayable: r.kind !== UNREPLAYABLE,
    }));
  }

  /** Per corp: counts by state, the newest delivery, and the latest failures (status). */
  async summaries(): Promise<Map<string, InboxSummary>> {
    const counts = await this.db
      .selectFrom('callback_inbox')
      .select(['corpid', 'state', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('received_at').as('last')])
      .groupBy(['corpid', 'state'])
      .execute();
    const out = new Map<string, InboxSummary>();
    for (const c of counts) {
      const s = out.get(c.corpid) ?? { pending: 0, failed: 0, ignored: 0, done: 0, lastReceivedAt: null, latestFailures: [] };
      const n = Number(c.n);
      if (c.state === 'pending' || c.state === 'working') s.pending += n;
      else if (c.state === 'failed') s.failed += n;
      else if (c.state === 'ignored') s.ignored += n;
      else if (c.state === 'done') s.done += n;
      const last = c.last === null ? null : Number(c.last);
      if (last !== null && (s.lastReceivedAt === null || last > s.lastReceivedAt)) s.lastReceivedAt = last;
      out.set(c.corpid, s);
    }
    for (const [corpid, s] of out) {
      if (s.failed === 0) continue;
      const rows = await this.db
        .selectFrom('callback_inbox')
        .select(['id', 'app', 'event', 'change_type', 'attempts', 'last_error', 'received_at'])
        .where('corpid', '=', corpid)
        .where('state', '=', 'failed')
        .orderBy('id', 'desc')
        .limit(5)
        .execute();
      s.latestFailures = rows.map((r) => ({
        id: Number(r.id),
        app: r.app,
        event: r.event,
        changeType: r.change_type,
        attempts: r.attempts,
        error: r.last_error,
        receivedAt: Number(r.received_at),
      }));
    }
    return out;
  }
}

/** What says which event an inbox row holds, shared by the rows a worker claims and the rows `list` shows. */
function describedBy(r: Pick<CallbackInboxRow, 'id' | 'corpid' | 'app' | 'kind' | 'event' | 'change_type' | 'received_at'>) {
  return { id: Number(r.id), corpid: r.corpid, app: r.app, kind: r.kind, event: r.event, changeType: r.change_type, receivedAt: Number(r.received_at) };
}
