/**
 * The index stage: messages ──► search index. It follows the queue of stored messages that the
 * decrypt stage writes in the transaction that stores them (search-pending.ts), and indexes them in
 * batches, each batch one transaction with its queue rows (index-repository.ts). A seq watermark
 * would not do: a message that waited for a key is stored after messages with higher seqs.
 *
 * It runs beside the pulls and never holds them up: it only reads messages and writes its own
 * tables, in short transactions. Several processes may run it at once; each batch skips the queue
 * rows another one has locked.
 */
import type { Logger } from '../app/logger.ts';
import { sleep } from '../runtime/sleep.ts';
import type { DatabaseHealth } from '../store/database-health.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { indexDocs } from './index-docs.ts';
import { IndexRepository } from './index-repository.ts';

export interface IndexStageDeps {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  readonly health: DatabaseHealth;
  readonly log: Logger;
}

export interface IndexStageTiming {
  /** messages per transaction */
  readonly batch: number;
  /** pause when the queue is empty, before looking again (ms) */
  readonly idleMs: number;
  /** pause after a failed batch (ms) */
  readonly failureMs: number;
}

export const DEFAULT_INDEX_TIMING: IndexStageTiming = Object.freeze({ batch: 200, idleMs: 1_000, failureMs: 5_000 });

export class IndexStage {
  private readonly repository: IndexRepository;
  private readonly timing: IndexStageTiming;

  constructor(
    private readonly deps: IndexStageDeps,
    timing: Partial<IndexStageTiming> = {},
  ) {
    this.repository = new IndexRepository(deps.db, deps.dialect);
    this.timing = { ...DEFAULT_INDEX_TIMING, ...timing };
  }

  /**
   * Indexes until the queue is empty (or `signal` aborts); returns how many messages it indexed.
   * `onBatch` hears the running total after each batch.
   */
  async drain(signal: AbortSignal, onBatch?: (done: number) => void): Promise<number> {
    let done = 0;
    while (!signal.aborted) {
      const n = await this.repository.indexBatch(this.timing.batch, indexDocs);
      if (n === 0) break;
      done += n;
      onBatch?.(done);
    }
    return done;
  }

  /**
   * Rebuilds the index entries of one corp (every corp when absent): queues every stored message
   * again and indexes the queue. Entries are replaced one batch at a time, so search keeps working
   * meanwhile, other processes' index stages share the work, and an interrupted rebuild resumes
   * from the queue (run it again, or let \`run\` finish it). Returns how many were queued.
   */
  async rebuild(corpid: string | undefined, signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<number> {
    const total = await this.repository.queueAll(corpid, Date.now());
    await this.drain(signal, (done) => onProgress(Math.min(done, total), total));
    return total;
  }

  /** Keeps the index up with the queue until `signal` aborts; a failed batch is tried again later. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const done = await this.drain(signal);
        if (done > 0) this.deps.log.debug({ stage: 'search-index', messages: done }, 'indexed messages');
        await sleep(this.timing.idleMs, signal);
      } catch (err) {
        if (signal.aborted) return;
        if (await this.deps.health.waitIfUnavailable(err, signal)) continue;
        this.deps.log.error({ stage: 'search-index', err: (err as Error).message }, 'indexing failed; trying again');
        await sleep(this.timing.failureMs, signal);
      }
    }
  }

  /**
   * Finishes what is queued (`run --once`): like `run`, but returns once the queue is empty. A
   * failure other than the database going away is thrown.
   */
  async finish(signal: AbortSignal): Promise<number> {
    return this.deps.health.retryWhileUnavailable(() => this.drain(signal), signal);
  }
}
