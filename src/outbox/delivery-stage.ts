/**
 * The delivery stage: outbox ──► sinks. Each sink has a position row (sink_cursors) it claims with a
 * lease through the claim queue every stage shares, so exactly one process delivers a sink at a
 * time; it sends the corp's events after the position in seq order, and moves the position past
 * them only once they were taken. At least once: a process killed after a delivery and before its
 * position was committed delivers that event again (a NATS stream drops it by its Nats-Msg-Id).
 *
 * Order and dead letters: the event at the head of a sink is tried until it is taken, with backoff
 * between tries, and the events after it wait (so a sink never sees them out of order). After
 * `maxAttempts` failed tries the event becomes a dead letter of that sink and delivery goes on with
 * the next. `sinks replay` asks for a sink's dead letters again; they are sent before the sink's next
 * events, each once, so they arrive after events with higher seqs (their `seq` says where they
 * belong); one that fails again stays a dead letter.
 *
 * Content is opt-in per sink: an event carries ids and metadata; a sink with include_content also
 * gets the decrypted message JSON of message and recall events. No body is ever logged.
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../app/logger.ts';
import { type Backoff, exponentialBackoff } from '../runtime/backoff.ts';
import { clipError } from '../runtime/clip.ts';
import { sleep } from '../runtime/sleep.ts';
import { ClaimQueue } from '../store/claims/claim-queue.ts';
import type { DatabaseHealth } from '../store/database-health.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { newLeaseOwner } from '../store/lease-owner.ts';
import type { Database, Sink, SinkCursor } from '../store/schema.ts';
import { eventBody, type StoredEvent } from './event-payloads.ts';
import { type EventSink, NatsServers, WebhookSink } from './event-sinks.ts';
import { OutboxRepository, SINK_QUEUE } from './outbox-repository.ts';

export interface DeliveryStageDeps {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  readonly health: DatabaseHealth;
  readonly log: Logger;
  /** opens a webhook sink's sealed secret (SinkRegistry.secretOf) */
  secretOf(sink: Sink): Buffer | null;
  now(): number;
}

export interface DeliveryTiming {
  /** pause when no sink has anything to deliver (ms) */
  readonly pollMs: number;
  /** events read per sink and pass */
  readonly batch: number;
  /** sinks claimed per pass, delivered side by side */
  readonly sinksPerPass: number;
  /** how long a claimed sink stays this process's without a renewal (ms) */
  readonly leaseMs: number;
  /** failed tries of an event before it becomes a dead letter */
  readonly maxAttempts: number;
  /** the wait after the n-th failed try of the event at the head */
  readonly backoff: Backoff;
  /** one webhook POST or NATS publish (ms) */
  readonly sendTimeoutMs: number;
  /** pause after a pass failed on the database (ms) */
  readonly failureMs: number;
}

export const DEFAULT_DELIVERY_TIMING: DeliveryTiming = Object.freeze({
  pollMs: 1_000,
  batch: 200,
  sinksPerPass: 8,
  leaseMs: 60_000,
  maxAttempts: 10,
  backoff: exponentialBackoff(1_000, 300_000),
  sendTimeoutMs: 10_000,
  failureMs: 5_000,
});

/** What one pass did. */
interface PassResult {
  /** events taken by their sinks (replays included) or dead-lettered */
  moved: number;
  /** a sink had more events than one batch */
  more: boolean;
}

export class DeliveryStage {
  /** who holds this stage's sink leases: host/pid/random */
  readonly owner = newLeaseOwner();
  private readonly timing: DeliveryTiming;
  private readonly queue: ClaimQueue<'sink_cursors'>;
  private readonly repo: OutboxRepository;
  private readonly nats: NatsServers;
  private readonly log: Logger;

  constructor(
    private readonly deps: DeliveryStageDeps,
    timing: Partial<DeliveryTiming> = {},
  ) {
    this.timing = { ...DEFAULT_DELIVERY_TIMING, ...timing };
    this.queue = new ClaimQueue(deps.db, SINK_QUEUE, deps.now);
    this.repo = new OutboxRepository(deps.db, deps.dialect);
    this.nats = new NatsServers(this.timing.sendTimeoutMs);
    this.log = deps.log.child({ stage: 'outbox' });
  }

  /** Delivers until `signal` aborts; a pass the database refused is tried again later. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const r = await this.pass(signal);
        if (!r.more) await sleep(this.timing.pollMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (await this.deps.health.waitIfUnavailable(err, signal)) continue;
        this.log.error({ err: (err as Error).message }, 'event delivery pass failed; trying again');
        await sleep(this.timing.failureMs, signal);
      }
    }
  }

  /**
   * Delivers what is due now and returns (`run --once`): passes until one moves nothing. A sink
   * waiting out its backoff keeps its events for the next run. Returns how many events moved.
   */
  async finish(signal: AbortSignal): Promise<number> {
    let moved = 0;
    while (!signal.aborted) {
      const r = await this.deps.health.retryWhileUnavailable(() => this.pass(signal), signal);
      moved += r.moved;
      if (r.moved === 0) break;
    }
    return moved;
  }

  /** Closes the NATS connections; call after `run` or `finish` returned. */
  close(): Promise<void> {
    return this.nats.close();
  }

  /** Claims the sinks that are due and delivers each one batch. */
  async pass(signal: AbortSignal): Promise<PassResult> {
    const { claimed } = await this.queue.claim(this.owner, this.timing.sinksPerPass, this.timing.leaseMs);
    const results = await Promise.all(claimed.map((cursor) => this.deliverSink(cursor, signal)));
    return { moved: results.reduce((n, r) => n + r.moved, 0), more: results.some((r) => r.more) };
  }

  private sinkOf(sink: Sink): EventSink {
    if (sink.type === 'nats') return this.nats.sink(sink.url, sink.stream ?? 'WECOM_ARCHIVE');
    const secret = this.deps.secretOf(sink);
    if (!secret) throw new Error(`webhook sink ${sink.id} has no secret`);
    return new WebhookSink(sink.url, secret, this.timing.sendTimeoutMs, this.deps.now);
  }

  /** The bodies of a batch: with the decrypted message for a sink that takes content. */
  private async bodies(sink: Sink, events: readonly StoredEvent[]): Promise<string[]> {
    if (Number(sink.include_content) !== 1) return events.map((e) => eventBody(e));
    const withContent = events.filter((e) => e.kind === 'message' || e.kind === 'recall');
    const raws = await this.repo.contents(sink.corpid, [...new Set(withContent.map((e) => e.ref))]);
    return events.map((e) => {
      const raw = e.kind === 'message' || e.kind === 'recall' ? raws.get(e.ref) : undefined;
      return eventBody(e, raw === undefined ? undefined : contentOf(raw));
    });
  }

  /** One sink, one batch: its replays, then its events after the position. */
  private async deliverSink(cursor: SinkCursor, signal: AbortSignal): Promise<PassResult> {
    const sinkId = Number(cursor.sink_id);
    const key = { sink_id: sinkId };
    const sink = await this.repo.sink(sinkId);
    if (!sink || Number(sink.disabled) === 1) {
      await this.queue.finish(key, this.owner, { state: 'idle', next_attempt_at: this.deps.now() + this.timing.pollMs * 10 });
      return { moved: 0, more: false };
    }
    const log = this.log.child({ sink: sinkId, corp: sink.corpid });
    let target: EventSink;
    try {
      target = this.sinkOf(sink);
    } catch (err) {
      await this.queue.fail(cursor, this.owner, { backoff: this.timing.backoff }, { values: () => ({ last_error: clipError((err as Error).message) }) });
      log.error({ err: (err as Error).message }, 'sink cannot be used');
      return { moved: 0, more: false };
    }
    let moved = await this.replay(sink, target, log);

    const events = await this.repo.eventsAfter(sink.corpid, Number(cursor.delivered_seq), this.timing.batch);
    const bodies = await this.bodies(sink, events);
    let position = Number(cursor.delivered_seq);
    let committed = position;
    let lastCommit = this.deps.now();
    for (const [i, event] of events.entries()) {
      if (signal.aborted) break;
      try {
        await target.deliver(event, bodies[i]!);
      } catch (err) {
        return { moved: moved + (await this.failed(cursor, event, position, committed, err as Error, log)), more: false };
      }
      position = event.seq;
      moved += 1;
      // a long batch renews its lease as it goes, so no other process takes the sink meanwhile
      if (this.deps.now() - lastCommit > this.timing.leaseMs / 3) {
        if (!(await this.repo.advance(sinkId, this.owner, position, this.deps.now() + this.timing.leaseMs, this.deps.now()))) return { moved, more: false };
        committed = position;
        lastCommit = this.deps.now();
      }
    }
    const now = this.deps.now();
    const advanced = position > Number(cursor.delivered_seq);
    await this.queue.finish(key, this.owner, {
      state: 'idle',
      next_attempt_at: now,
      delivered_seq: position,
      ...(advanced ? { attempts: 0, last_error: null, last_success_at: now } : {}),
    });
    if (advanced) await this.repo.prune(sink.corpid);
    return { moved, more: events.length === this.timing.batch };
  }

  /** The sink's replayed dead letters, each tried once. */
  private async replay(sink: Sink, target: EventSink, log: Logger): Promise<number> {
    const replays = await this.repo.replays(Number(sink.id), this.timing.batch);
    if (replays.length === 0) return 0;
    const bodies = await this.bodies(
      sink,
      replays.map((r) => r.event),
    );
    let delivered = 0;
    for (const [i, r] of replays.entries()) {
      try {
        await target.deliver(r.event, bodies[i]!);
        await this.repo.replayDelivered(Number(sink.id), r.event.id);
        delivered += 1;
      } catch (err) {
        await this.repo.replayFailed(Number(sink.id), r.event.id, r.attempts + 1, clipError((err as Error).message), this.deps.now());
        log.warn({ seq: r.event.seq, err: (err as Error).message }, 'replayed event failed again; it stays a dead letter');
      }
    }
    if (delivered > 0) log.info({ events: delivered }, 'dead letters delivered again');
    return delivered;
  }

  /**
   * The event at the head was not taken: after `maxAttempts` tries it becomes a dead letter (and
   * the sink goes on at once), else the sink waits out the backoff. What was delivered before it
   * in this batch is committed either way. Returns 1 when the event was dead-lettered.
   */
  private async failed(cursor: SinkCursor, event: StoredEvent, position: number, committed: number, err: Error, log: Logger): Promise<number> {
    const sinkId = Number(cursor.sink_id);
    const now = this.deps.now();
    const advanced = position > Number(cursor.delivered_seq);
    // tries of this event: the head moved in this batch, so its count starts over
    const before = advanced ? 0 : Number(cursor.attempts);
    const error = clipError(err.message);
    if (before + 1 >= this.timing.maxAttempts) {
      if (position > committed && !(await this.repo.advance(sinkId, this.owner, position, now + this.timing.leaseMs, now))) return 0;
      if (!(await this.repo.deadLetter(sinkId, this.owner, event, before + 1, error, now))) return 0;
      log.error(
        { seq: event.seq, kind: event.kind, tries: before + 1, err: err.message },
        'event given up after its tries: it is a dead letter of this sink (`sinks replay` sends it again)',
      );
      return 1;
    }
    const { nextAt } = await this.queue.fail(
      { sink_id: sinkId, attempts: before },
      this.owner,
      { backoff: this.timing.backoff },
      {
        values: () => ({ delivered_seq: position, last_error: error, ...(advanced ? { last_success_at: now } : {}) }),
      },
    );
    log.warn({ seq: event.seq, kind: event.kind, tries: before + 1, retryInS: Math.round((nextAt - now) / 1000), err: err.message }, 'event not delivered; trying again');
    return 0;
  }
}

/** The decrypted message as JSON when it parses (it nearly always does), else its text. */
function contentOf(raw: Buffer): unknown {
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
