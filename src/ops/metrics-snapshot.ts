/**
 * What a scrape reads from the database: `status`'s own view of every corp (corpStatuses), plus the
 * few totals it does not keep — messages by msgtype, SDK host restarts by lane and cause, and the
 * seqs each gap skipped. Every figure comes from committed rows, so every process sharing the
 * database reports the same values, and a restart loses none of them.
 */
import type { Kysely } from 'kysely';
import { corpStatuses, type CorpStatus } from '../status/corp-status.ts';
import type { Database } from '../store/schema.ts';
import { decodeSeq } from '../store/seq-codec.ts';
import type { GapKind, RestartCause, SdkHostLane } from '../store/vocabulary.ts';

export interface MetricsSnapshot {
  /** when the snapshot was read (ms) */
  readonly at: number;
  /** how long reading it took (ms) */
  readonly tookMs: number;
  readonly corps: readonly CorpStatus[];
  readonly messagesByType: ReadonlyArray<{ corpid: string; msgtype: string; n: number }>;
  readonly restarts: ReadonlyArray<{ corpid: string; lane: SdkHostLane; cause: RestartCause; n: number }>;
  /** seqs jumped over, summed per corp and gap kind */
  readonly seqsSkipped: ReadonlyArray<{ corpid: string; kind: GapKind; n: number }>;
}

/**
 * Seqs jumped over, per corp and gap kind: next - after - 1 of every gap. Gaps are anomalies (a few
 * rows per corp at most), so they are read whole each time: a watermark on their id could miss a
 * row whose transaction committed after a later id's.
 */
async function seqsSkipped(db: Kysely<Database>): Promise<Array<{ corpid: string; kind: GapKind; n: number }>> {
  const sums = new Map<string, { corpid: string; kind: GapKind; n: number }>();
  for (const g of await db.selectFrom('gaps').select(['corpid', 'kind', 'after_seq', 'next_seq']).execute()) {
    const key = `${g.corpid}\u0000${g.kind}`;
    const entry = sums.get(key) ?? { corpid: g.corpid, kind: g.kind, n: 0 };
    const skipped = decodeSeq(g.next_seq) - decodeSeq(g.after_seq) - 1n;
    if (skipped > 0n) entry.n += Number(skipped);
    sums.set(key, entry);
  }
  return [...sums.values()];
}

/** Reads one snapshot of every corp. */
export async function readMetricsSnapshot(db: Kysely<Database>, now: number): Promise<MetricsSnapshot> {
  const started = performance.now();
  const [corps, messagesByType, restarts, skipped] = await Promise.all([
    corpStatuses(db, now),
    db
      .selectFrom('messages')
      .select(['corpid', 'msgtype', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'msgtype'])
      .execute(),
    db
      .selectFrom('sdk_host_restarts')
      .select(['corpid', 'lane', 'cause', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'lane', 'cause'])
      .execute(),
    seqsSkipped(db),
  ]);
  return {
    at: now,
    tookMs: performance.now() - started,
    corps,
    messagesByType: messagesByType.map((m) => ({ corpid: m.corpid, msgtype: m.msgtype, n: Number(m.n) })),
    restarts: restarts.map((r) => ({ corpid: r.corpid, lane: r.lane, cause: r.cause, n: Number(r.n) })),
    seqsSkipped: skipped,
  };
}
