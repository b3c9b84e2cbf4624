/**
 * The hook through which the event stream (the outbox and its sinks) reports to /metrics, so the
 * metrics need not know its tables: the stream registers a source with ArchiveMetrics, and each
 * scrape asks it for its figures.
 */

/** One sink of one corp, as the event stream sees it now. */
export interface EventStreamStats {
  readonly corpid: string;
  /** the sink's name or id (a low-cardinality label: one per configured sink) */
  readonly sink: string;
  /** events written but not yet delivered to this sink */
  readonly backlog: number;
  /** failed tries of the event at the head of the sink: 0 while delivery flows, growing while it is stuck */
  readonly failures: number;
  /** events given up after their last try (dead letters), if the stream keeps them */
  readonly deadLetters?: number;
}

/** What the event stream registers (ArchiveMetrics.registerEventStream). */
export interface EventStreamSource {
  /** Reads the figures; called at most once per metrics cache period. A throw leaves them out of that scrape. */
  eventStreamStats(): Promise<readonly EventStreamStats[]>;
}
