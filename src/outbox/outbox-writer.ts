/**
 * The row-writing side of the event stream: the stages record what they did as outbox events inside
 * the transaction that does it (decrypt: messages and recalls; media: a file stored; directory: a
 * change), so an event exists exactly when what it reports is committed, whatever crashes.
 *
 * Events are written only for a corp that has a sink: a corp nobody subscribes to pays one indexed
 * lookup per commit, not a row per message (measured with `npm run bench:ingest`, see README).
 *
 * Order: each event gets the next seq of its corp from event_counters, updated last in the
 * transaction. The row lock that update takes is held until commit, so a corp's seqs are handed out
 * in commit order: once an event is visible, every event of its corp with a lower seq is committed
 * (or rolled back). The delivery stage can therefore keep a plain position per sink and never skip
 * an event committed late.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';
import { directoryChangeEvent, type DirectoryChange, type MediaFacts, mediaDoneEvent, type MessageFacts, messageEvents, type NewEvent } from './event-payloads.ts';

/** Rows per INSERT. */
const INSERT_CHUNK = 200;

/** Whether the corp has a sink that takes its events. */
async function hasSink(trx: Kysely<Database>, corpid: string): Promise<boolean> {
  const row = await trx.selectFrom('sinks').select('id').where('corpid', '=', corpid).where('disabled', '=', 0).limit(1).executeTakeFirst();
  return row !== undefined;
}

/**
 * Reserves `n` seqs of the corp, returning the first. The counter row is created on first use; its
 * update locks it until the caller's transaction ends (the order guarantee above).
 */
async function reserveSeqs(trx: Kysely<Database>, dialect: StoreDialect, corpid: string, n: number): Promise<number> {
  const bump = () =>
    trx
      .updateTable('event_counters')
      .set({ last_seq: sql<number>`last_seq + ${n}` })
      .where('corpid', '=', corpid)
      .executeTakeFirst();
  if (Number((await bump()).numUpdatedRows) === 0) {
    await dialect.ignoreDuplicates(trx.insertInto('event_counters').values({ corpid, last_seq: 0 }), ['corpid']).execute();
    await bump();
  }
  const row = await trx.selectFrom('event_counters').select('last_seq').where('corpid', '=', corpid).executeTakeFirstOrThrow();
  return Number(row.last_seq) - n + 1;
}

/**
 * Records events of one corp inside the caller's transaction (`trx` is one), in the order given; nothing when the
 * corp has no sink. An event already recorded (same kind and ref) is not recorded again.
 */
export async function recordEvents(trx: Kysely<Database>, dialect: StoreDialect, corpid: string, events: readonly NewEvent[], now: number): Promise<number> {
  if (events.length === 0 || !(await hasSink(trx, corpid))) return 0;
  const first = await reserveSeqs(trx, dialect, corpid, events.length);
  const rows = events.map((e, i) => ({ corpid, seq: first + i, kind: e.kind, ref: e.ref, payload: JSON.stringify(e.payload), created_at: now }));
  let inserted = 0;
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const r = await dialect.ignoreDuplicates(trx.insertInto('event_outbox').values(rows.slice(i, i + INSERT_CHUNK)), ['corpid', 'kind', 'ref']).executeTakeFirst();
    inserted += Math.min(Number(r.numInsertedOrUpdatedRows ?? 0), rows.length - i);
  }
  return inserted;
}

/** The decrypt stage's call: the messages it stores in this transaction (and their recalls). */
export function recordMessageEvents(trx: Kysely<Database>, dialect: StoreDialect, corpid: string, messages: readonly MessageFacts[], now: number): Promise<number> {
  return recordEvents(trx, dialect, corpid, messageEvents(messages), now);
}

/** The media stage's call, after it wrote a job's final state in this transaction: a stored file is an event. */
export async function recordMediaFinished(trx: Kysely<Database>, dialect: StoreDialect, jobId: number, now: number): Promise<number> {
  const job = await trx
    .selectFrom('media')
    .select(['id', 'corpid', 'msgid', 'slot', 'msgtype', 'kind', 'state', 'sha256', 'size', 'content_type'])
    .where('id', '=', jobId)
    .executeTakeFirst();
  const event = job && mediaDoneEvent(job as MediaFacts);
  return job && event ? recordEvents(trx, dialect, job.corpid, [event], now) : 0;
}

/** The directory store's call, as it records a change in the name history. */
export function recordDirectoryChange(trx: Kysely<Database>, dialect: StoreDialect, corpid: string, change: Omit<DirectoryChange, 'changeId'>, now: number): Promise<number> {
  return recordEvents(trx, dialect, corpid, [directoryChangeEvent({ ...change, changeId: randomUUID() })], now);
}
