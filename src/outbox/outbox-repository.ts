/**
 * Every query of the delivery stage: the sinks' positions as a claim queue (store/claims), the
 * events after a position, dead letters, and pruning what every sink has passed.
 */
import type { Kysely } from 'kysely';
import type { QueueDescriptor } from '../store/claims/claim-queue.ts';
import { updateHeldRow } from '../store/claims/lease.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database, Sink } from '../store/schema.ts';
import type { StoredEvent } from './event-payloads.ts';

/**
 * A sink's position row is the unit of delivery: `idle` until its next try is due (at once after a
 * success, after the backoff after a failure), `delivering` while one process holds its lease, so
 * one sink's events are never sent by two processes at once, nor out of order. Failed tries of the
 * event at the head are counted in `attempts`; the stage dead-letters that event itself after its
 * tries, so the queue never gives the row up (`stopped` is never written).
 */
export const SINK_QUEUE: QueueDescriptor<'sink_cursors'> = {
  table: 'sink_cursors',
  key: ['sink_id'],
  state: 'state',
  states: { ready: 'idle', working: 'delivering', gaveUp: 'stopped' },
  due: 'next_attempt_at',
  attempts: 'attempts',
  countTry: 'on failure',
  order: 'sink_id',
  updatedAt: 'updated_at',
};

/** A dead letter asked for again, with its event. */
export interface Replay {
  event: StoredEvent;
  attempts: number;
}

export class OutboxRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
  ) {}

  async sink(id: number): Promise<Sink | undefined> {
    return this.db.selectFrom('sinks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The corp's events after `seq`, in order. */
  async eventsAfter(corpid: string, seq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.db.selectFrom('event_outbox').selectAll().where('corpid', '=', corpid).where('seq', '>', seq).orderBy('seq').limit(limit).execute();
    return rows.map(toEvent);
  }

  /** The sink's dead letters that `sinks replay` asked for, in seq order. */
  async replays(sinkId: number, limit: number): Promise<Replay[]> {
    const rows = await this.db
      .selectFrom('sink_dead_letters as d')
      .innerJoin('event_outbox as e', 'e.id', 'd.event_id')
      .select(['e.id', 'e.corpid', 'e.seq', 'e.kind', 'e.ref', 'e.payload', 'e.created_at', 'd.attempts'])
      .where('d.sink_id', '=', sinkId)
      .where('d.state', '=', 'replay')
      .orderBy('e.seq')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ event: toEvent(r), attempts: Number(r.attempts) }));
  }

  /** A replayed dead letter was delivered: it is gone. */
  async replayDelivered(sinkId: number, eventId: number): Promise<void> {
    await this.db.deleteFrom('sink_dead_letters').where('sink_id', '=', sinkId).where('event_id', '=', eventId).execute();
  }

  /** A replayed dead letter failed again: it stays a dead letter, with the new error, until replayed again. */
  async replayFailed(sinkId: number, eventId: number, attempts: number, error: string, now: number): Promise<void> {
    await this.db
      .updateTable('sink_dead_letters')
      .set({ state: 'dead', attempts, last_error: error, dead_at: now })
      .where('sink_id', '=', sinkId)
      .where('event_id', '=', eventId)
      .execute();
  }

  /**
   * Moves the position past delivered events while `owner` holds the sink, renewing its lease
   * (never backwards). False: the lease was lost and nothing was written.
   */
  advance(sinkId: number, owner: string, seq: number, leaseUntil: number, now: number): Promise<boolean> {
    return updateHeldRow(
      this.db,
      'sink_cursors',
      { sink_id: sinkId },
      owner,
      { delivered_seq: seq, attempts: 0, last_error: null, last_success_at: now, lease_until: leaseUntil, updated_at: now },
      { column: 'delivered_seq', value: seq },
    );
  }

  /**
   * Gives the event at the head up after its tries: one transaction makes it a dead letter and moves
   * the position past it, so the sink goes on with the next event. False: the lease was lost.
   */
  async deadLetter(sinkId: number, owner: string, event: StoredEvent, attempts: number, error: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const held = await updateHeldRow(
        trx,
        'sink_cursors',
        { sink_id: sinkId },
        owner,
        { delivered_seq: event.seq, attempts: 0, last_error: error, state: 'idle', next_attempt_at: now, lease_owner: null, lease_until: null, updated_at: now },
        { column: 'delivered_seq', value: event.seq },
      );
      if (!held) return false;
      await this.dialect
        .ignoreDuplicates(
          trx
            .insertInto('sink_dead_letters')
            .values({ sink_id: sinkId, event_id: event.id, corpid: event.corpid, seq: event.seq, state: 'dead', attempts, last_error: error, dead_at: now }),
          ['sink_id', 'event_id'],
        )
        .execute();
      return true;
    });
  }

  /** The message JSON of these messages, for sinks that take content. */
  async contents(corpid: string, msgids: readonly string[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (msgids.length === 0) return out;
    const rows = await this.db
      .selectFrom('messages')
      .select(['msgid', 'raw'])
      .where('corpid', '=', corpid)
      .where('msgid', 'in', [...msgids])
      .execute();
    for (const r of rows) out.set(r.msgid, Buffer.from(r.raw));
    return out;
  }

  /**
   * Deletes the corp's events every sink of it has passed (a dead letter keeps its event until it is
   * replayed or its sink removed). Returns how many.
   */
  async prune(corpid: string): Promise<number> {
    const low = await this.db
      .selectFrom('sink_cursors')
      .select((eb) => eb.fn.min<number>('delivered_seq').as('low'))
      .where('corpid', '=', corpid)
      .executeTakeFirst();
    if (low?.low === null || low?.low === undefined) return 0;
    const r = await this.db
      .deleteFrom('event_outbox')
      .where('corpid', '=', corpid)
      .where('seq', '<=', Number(low.low))
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('sink_dead_letters as d').select('d.event_id').whereRef('d.event_id', '=', 'event_outbox.id'))))
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}

function toEvent(r: { id: number; corpid: string; seq: number; kind: StoredEvent['kind']; ref: string; payload: string; created_at: number }): StoredEvent {
  return { id: Number(r.id), corpid: r.corpid, seq: Number(r.seq), kind: r.kind, ref: r.ref, payload: r.payload, created_at: Number(r.created_at) };
}
