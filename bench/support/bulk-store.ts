/**
 * Filling a bench's database fast: messages written straight into the messages table, many
 * thousands a transaction with the dialect's multi-row inserts, each with its row in the index
 * stage's queue as the decrypt stage leaves them; then the index stage as `run` runs it.
 */
import { createLogger } from '../../src/app/logger.ts';
import { DEFAULT_INDEX_TIMING, IndexStage } from '../../src/search/index-stage.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { NewMessage } from '../../src/store/schema.ts';

/** Messages a transaction while loading: big transactions, each written with the dialect's multi-row inserts. */
export const LOAD_BATCH = 10_000;

/** Stores `rows` (one corp's, or several) with their index queue rows, in one transaction. */
export async function storeMessages(store: Store, rows: readonly NewMessage[], queuedAt: number): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    await store.dialect.insertIgnoring(trx, 'messages', rows, ['corpid', 'msgid']);
    await store.dialect.insertIgnoring(
      trx,
      'search_pending',
      rows.map((r) => ({ corpid: r.corpid, msgtime: r.msgtime, msgid: r.msgid, queued_at: queuedAt })),
      ['corpid', 'msgtime', 'msgid'],
    );
  });
}

/** Indexes the whole queue with the index stage (its default batch, as the product runs it); returns the seconds it took. */
export async function indexQueued(store: Store, total: number): Promise<number> {
  const stage = new IndexStage({ db: store.db, dialect: store.dialect, health: store.health, log: createLogger('silent') });
  const t0 = performance.now();
  await stage.drain(new AbortController().signal, (done) => {
    if (done % 100_000 < DEFAULT_INDEX_TIMING.batch) process.stderr.write(`indexed ${done}/${total}\r`);
  });
  return (performance.now() - t0) / 1000;
}

/**
 * The `p` quantile (0–1) of ascending `sorted` by nearest rank (the ⌈p·n⌉-th smallest, so the p95 of
 * 20 values is the 19th, not the largest), rounded to 0.01.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  // less a hair, so that a product like 0.95 × 60 that floating point rounds up still ranks 57th
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(sorted.length * p - 1e-9)));
  return Math.round(sorted[rank - 1]! * 100) / 100;
}
