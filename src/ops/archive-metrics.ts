/**
 * The archive's Prometheus metrics, framework-free: `metricsText()` renders them, `observeRequest()`
 * is what an HTTP server calls after each request. Per-corp figures come from the database on a
 * scrape (metrics-snapshot.ts), cached for `cacheMs` so that a storm of scrapes, or many Prometheus
 * servers, cost the database one snapshot per period. Counters that come from rows (messages, gaps,
 * restarts) are totals of committed rows, not of this process's work: every process sharing the
 * database reports the same value, and `rate()` over them is the archive's rate.
 */
import type { Kysely } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../store/schema.ts';
import type { EventStreamSource, EventStreamStats } from './event-stream-source.ts';
import { type MetricsSnapshot, readMetricsSnapshot } from './metrics-snapshot.ts';

export type { EventStreamSource, EventStreamStats } from './event-stream-source.ts';

export interface ArchiveMetricsOptions {
  /** how long one database snapshot serves scrapes (ms; it grows to 20 times the snapshot's own time); default 5000, 0: none */
  readonly cacheMs?: number;
  /** Node.js process metrics (CPU, memory, event loop, GC); default on */
  readonly processMetrics?: boolean;
  readonly now?: () => number;
  /** told of a snapshot or source that failed (the scrape still answers, without those figures) */
  readonly onError?: (what: string, err: unknown) => void;
}

/** HTTP methods kept as a label value; anything else is counted as OTHER (a client picks the method). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

const PREFIX = 'wecom_archive_';

export class ArchiveMetrics {
  readonly registry = new Registry();
  private readonly cacheMs: number;
  private readonly now: () => number;
  private readonly onError: (what: string, err: unknown) => void;
  private readonly eventSources = new Set<EventStreamSource>();
  private snapshot: { at: number; done: Promise<void> } | undefined;
  /** how long the last database snapshot took (ms) */
  private lastTookMs = 0;

  private readonly requests: Histogram<'route' | 'method' | 'status'>;
  private readonly databaseUp: Gauge;
  private readonly collectSeconds: Gauge;
  private readonly corpGauges: Array<Gauge<string> | Counter<string>> = [];
  private readonly lag: Gauge<'corpid'>;
  private readonly windowLeft: Gauge<'corpid'>;
  private readonly pullState: Gauge<'corpid' | 'state'>;
  private readonly gaps: Counter<'corpid' | 'kind'>;
  private readonly seqsSkipped: Counter<'corpid' | 'kind'>;
  private readonly waiting: Gauge<'corpid' | 'reason'>;
  private readonly pending: Gauge<'corpid'>;
  private readonly messages: Counter<'corpid' | 'msgtype'>;
  private readonly indexBacklog: Gauge<'corpid'>;
  private readonly mediaJobs: Gauge<'corpid' | 'state'>;
  private readonly mediaBytes: Gauge<'corpid'>;
  private readonly restarts: Counter<'corpid' | 'lane' | 'cause'>;
  private readonly inbox: Gauge<'corpid' | 'state'>;
  private readonly directoryAge: Gauge<'corpid' | 'part'>;
  private readonly eventBacklog: Gauge<'corpid' | 'sink'>;
  private readonly eventFailures: Gauge<'corpid' | 'sink'>;
  private readonly eventDead: Gauge<'corpid' | 'sink'>;
  private readonly sourceErrors: Counter<'source'>;

  constructor(
    private readonly db: Kysely<Database>,
    options: ArchiveMetricsOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5000;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
    const registers = [this.registry];
    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => {
      const g = new Gauge<L>({ name: PREFIX + name, help, labelNames, registers });
      this.corpGauges.push(g);
      return g;
    };
    const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => {
      const c = new Counter<L>({ name: PREFIX + name, help, labelNames, registers });
      this.corpGauges.push(c);
      return c;
    };
    this.requests = new Histogram({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'HTTP requests served, by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.databaseUp = new Gauge({ name: `${PREFIX}database_up`, help: '1 when the last metrics snapshot could be read from the database, 0 when it failed', registers });
    this.collectSeconds = new Gauge({ name: `${PREFIX}metrics_collect_seconds`, help: 'how long the last database snapshot for these metrics took', registers });
    this.sourceErrors = new Counter({
      name: `${PREFIX}metrics_source_errors_total`,
      help: 'metrics snapshots or registered sources that failed',
      labelNames: ['source'],
      registers,
    });
    this.lag = gauge('lag_seconds', 'how far the newest archived message is behind now', ['corpid']);
    this.windowLeft = gauge(
      'window_remaining_seconds',
      "time before data not yet pulled starts to fall out of WeCom's 5-day window (negative: it has started); absent until the corp has caught up once",
      ['corpid'],
    );
    this.pullState = gauge('pull_state', "1 for the corp's pull state (ok, retrying, stopped on a configuration error), 0 for the others", ['corpid', 'state']);
    this.gaps = counter('gaps_total', 'jumps in seq: kind=loss when WeCom may have dropped data, kind=jump when the cursor was well inside the window', ['corpid', 'kind']);
    this.seqsSkipped = counter('seqs_skipped_total', 'seqs jumped over by the gaps', ['corpid', 'kind']);
    this.waiting = gauge('envelopes_waiting', 'stored envelopes that could not be decrypted yet, by reason', ['corpid', 'reason']);
    this.pending = gauge('envelopes_pending', 'stored envelopes not decrypted yet (fresh ones and ones queued for another try)', ['corpid']);
    this.messages = counter('messages_total', 'messages archived (decrypted and stored), by msgtype; rate() of it is the decrypt rate', ['corpid', 'msgtype']);
    this.indexBacklog = gauge('search_backlog_messages', 'stored messages the search index has not taken in yet', ['corpid']);
    this.mediaJobs = gauge('media_jobs', 'media jobs by state', ['corpid', 'state']);
    this.mediaBytes = gauge('media_stored_bytes', 'bytes of media files stored', ['corpid']);
    this.restarts = counter('sdk_host_restarts_total', 'native SDK host processes replaced, by lane and cause', ['corpid', 'lane', 'cause']);
    this.inbox = gauge('callback_inbox', 'stored callback events by state', ['corpid', 'state']);
    this.directoryAge = gauge('directory_sync_age_seconds', 'time since each part of the directory sync last succeeded', ['corpid', 'part']);
    this.eventBacklog = gauge('event_backlog', 'events not yet delivered, per sink', ['corpid', 'sink']);
    this.eventFailures = gauge('event_head_failures', 'failed tries of the event at the head of each sink (0 while delivery flows)', ['corpid', 'sink']);
    this.eventDead = gauge('event_dead_letters', 'events given up after their last try, per sink', ['corpid', 'sink']);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one HTTP request: `route` is the route's template (`/callback/:corpid/:app`), never the raw path. */
  observeRequest(route: string, method: string, status: number, seconds: number): void {
    const m = method.toUpperCase();
    this.requests.observe({ route, method: METHODS.has(m) ? m : 'OTHER', status: String(status) }, seconds);
  }

  /** Adds an event-stream source to every scrape from now on; the function returned takes it out. */
  registerEventStream(source: EventStreamSource): () => void {
    this.eventSources.add(source);
    this.snapshot = undefined;
    return () => {
      this.eventSources.delete(source);
      this.snapshot = undefined;
    };
  }

  /** The metrics in Prometheus' text format, with its content type. */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    await this.refresh();
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Reads the database again unless the last snapshot is younger than the cache period; scrapes at once share one read. */
  private refresh(): Promise<void> {
    const now = this.now();
    // On a big archive a snapshot's grouped counts take longer: the period grows with them, so
    // scrapes never keep the database busy more than a twentieth of the time.
    const period = this.cacheMs === 0 ? 0 : Math.max(this.cacheMs, this.lastTookMs * 20);
    if (this.snapshot && now - this.snapshot.at < period) return this.snapshot.done;
    const snapshot = { at: now, done: this.load(now) };
    this.snapshot = snapshot;
    return snapshot.done;
  }

  private async load(now: number): Promise<void> {
    const [snapshot, streams] = await Promise.all([
      readMetricsSnapshot(this.db, now).catch((err: unknown) => {
        this.sourceErrors.inc({ source: 'database' });
        this.onError('database', err);
        return undefined;
      }),
      Promise.all(
        [...this.eventSources].map((s) =>
          s.eventStreamStats().catch((err: unknown) => {
            this.sourceErrors.inc({ source: 'event_stream' });
            this.onError('event_stream', err);
            return [] as readonly EventStreamStats[];
          }),
        ),
      ),
    ]);
    // a corp removed, or a state left, must disappear rather than keep its last value
    for (const m of this.corpGauges) m.reset();
    this.databaseUp.set(snapshot ? 1 : 0);
    if (snapshot) this.apply(snapshot);
    for (const s of streams.flat()) {
      const labels = { corpid: s.corpid, sink: s.sink };
      this.eventBacklog.set(labels, s.backlog);
      this.eventFailures.set(labels, s.failures);
      if (s.deadLetters !== undefined) this.eventDead.set(labels, s.deadLetters);
    }
  }

  private apply(s: MetricsSnapshot): void {
    this.collectSeconds.set(s.tookMs / 1000);
    this.lastTookMs = s.tookMs;
    for (const c of s.corps) {
      const corpid = c.corpid;
      if (c.lagMs !== null) this.lag.set({ corpid }, c.lagMs / 1000);
      if (c.hoursLeft !== null) this.windowLeft.set({ corpid }, Math.round(c.hoursLeft * 3600));
      for (const state of ['ok', 'retrying', 'stopped'] as const) this.pullState.set({ corpid, state }, c.state === state ? 1 : 0);
      this.gaps.inc({ corpid, kind: 'loss' }, c.gaps.count);
      this.gaps.inc({ corpid, kind: 'jump' }, c.seqJumps.count);
      this.seqsSkipped.inc({ corpid, kind: 'loss' }, 0);
      this.seqsSkipped.inc({ corpid, kind: 'jump' }, 0);
      const byReason = new Map<string, number>();
      for (const w of c.waiting) byReason.set(w.reason, (byReason.get(w.reason) ?? 0) + w.count);
      for (const [reason, n] of byReason) this.waiting.set({ corpid, reason }, n);
      this.pending.set({ corpid }, c.pending);
      this.indexBacklog.set({ corpid }, c.notIndexed);
      for (const [state, n] of Object.entries(c.media.states)) this.mediaJobs.set({ corpid, state }, n);
      this.mediaBytes.set({ corpid }, c.media.bytes);
      for (const state of ['pending', 'failed', 'ignored', 'done'] as const) this.inbox.set({ corpid, state }, c.callbacks[state]);
      for (const p of c.directory.parts) if (p.lastSuccessAt !== null) this.directoryAge.set({ corpid, part: p.part }, Math.max(0, (s.at - p.lastSuccessAt) / 1000));
    }
    for (const m of s.messagesByType) this.messages.inc({ corpid: m.corpid, msgtype: m.msgtype }, m.n);
    for (const r of s.restarts) this.restarts.inc({ corpid: r.corpid, lane: r.lane, cause: r.cause }, r.n);
    for (const g of s.seqsSkipped) this.seqsSkipped.inc({ corpid: g.corpid, kind: g.kind }, g.n);
  }
}
