import type { KeyObject } from 'node:crypto';
import { sql } from 'kysely';
import { SDK_CODES } from '../errors/wecom-codes.ts';
import { insertMediaJobs } from '../media/media-jobs.ts';
import { type BatchOutcome, decryptBatch, type DecryptDeps } from './decrypt-batch.ts';

export interface DecryptStageOptions {
  /** envelopes per batch */
  batchSize?: number;
  /** batches in flight at once: keeps the RSA workers busy while the main thread writes */
  inflight?: number;
  /** transient SDK failures are retried this many times, then wait for `media retry`-style requeue */
  maxAttempts?: number;
}

export interface DrainResult {
  messages: number;
  failures: number;
  /** failures that may succeed on a later try without any change (transient SDK errors) */
  retryable: number;
}

const TRANSIENT_SDK_CODES = Object.entries(SDK_CODES).filter(([, info]) => info.transient).map(([code]) => Number(code));
const MESSAGE_CHUNK = 100;

/**
 * The decrypt stage: claims a corp's pending envelopes in seq order and commits, per batch, the
 * messages and the envelopes' new states in one transaction. Safe to run twice on the same rows:
 * messages are keyed by (corpid, msgid) and duplicates are skipped (design rule 2).
 */
export class DecryptStage {
  private readonly batchSize: number;
  private readonly inflight: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly deps: DecryptDeps & { loadKeys(corpid: string): Promise<Map<number, KeyObject>> },
    options: DecryptStageOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 256;
    this.inflight = options.inflight ?? 3;
    this.maxAttempts = options.maxAttempts ?? 20;
  }

  /** Loads the corp's private keys into the RSA pool (again: keys may have been added since). */
  async refreshKeys(corpid: string): Promise<number[]> {
    const keys = await this.deps.loadKeys(corpid);
    this.deps.rsa.setKeys(corpid, keys);
    return [...keys.keys()];
  }

  /**
   * Puts back to pending what may now succeed: envelopes waiting for a key version that is now
   * stored, and transient SDK failures with tries left. Returns how many.
   */
  async requeue(corpid: string): Promise<number> {
    const versions = await this.refreshKeys(corpid);
    const now = this.deps.now();
    let count = 0;
    if (versions.length) {
      const r = await this.deps.db.updateTable('envelopes').set({ state: 'pending', updated_at: now })
        .where('corpid', '=', corpid).where('state', '=', 'waiting').where('reason', '=', 'key_missing')
        .where('publickey_ver', 'in', versions).executeTakeFirst();
      count += Number(r.numUpdatedRows);
    }
    const r = await this.deps.db.updateTable('envelopes').set({ state: 'pending', updated_at: now })
      .where('corpid', '=', corpid).where('state', '=', 'waiting').where('reason', '=', 'sdk_error')
      .where('attempts', '<', this.maxAttempts)
      .where((eb) => eb.or([eb('reason_code', 'is', null), eb('reason_code', 'in', TRANSIENT_SDK_CODES)]))
      .executeTakeFirst();
    return count + Number(r.numUpdatedRows);
  }

  /**
   * Decrypts every pending envelope of the corp; stops early (between batches) when aborted.
   * `onBatch` hears of every committed batch (progress).
   */
  async drain(corpid: string, signal?: AbortSignal, onBatch?: (batch: DrainResult) => void): Promise<DrainResult> {
    const total: DrainResult = { messages: 0, failures: 0, retryable: 0 };
    const running = new Set<Promise<void>>();
    let firstError: unknown;
    let after: string | null = null;
    while (!signal?.aborted && firstError === undefined) {
      let query = this.deps.db.selectFrom('envelopes')
        .select(['msgid', 'seq', 'publickey_ver', 'encrypt_random_key', 'encrypt_chat_msg'])
        .where('corpid', '=', corpid).where('state', '=', 'pending');
      if (after !== null) query = query.where('seq', '>', after);
      const rows = await query.orderBy('seq').limit(this.batchSize).execute();
      if (rows.length === 0) break;
      after = rows[rows.length - 1]!.seq;
      const task = (async () => {
        const outcome = await decryptBatch(this.deps, corpid, rows, signal);
        await this.commit(corpid, outcome);
        const retryable = outcome.failures.filter((f) => f.transient).length;
        total.messages += outcome.messages.length;
        total.failures += outcome.failures.length;
        total.retryable += retryable;
        onBatch?.({ messages: outcome.messages.length, failures: outcome.failures.length, retryable });
      })().catch((err: unknown) => {
        firstError ??= err;
      });
      running.add(task);
      void task.finally(() => running.delete(task));
      if (running.size >= this.inflight) await Promise.race(running);
    }
    await Promise.all(running);
    if (firstError !== undefined) throw firstError;
    return total;
  }

  private async commit(corpid: string, outcome: BatchOutcome): Promise<void> {
    const { db, dialect } = this.deps;
    const now = this.deps.now();
    await db.transaction().execute(async (trx) => {
      await dialect.insertIgnoring(trx, 'messages', outcome.messages, ['corpid', 'msgid']);
      // a stored message always has its media jobs: same transaction (issue #5)
      await insertMediaJobs(trx, dialect, corpid, outcome.messages, now);
      for (let i = 0; i < outcome.messages.length; i += MESSAGE_CHUNK) {
        const chunk = outcome.messages.slice(i, i + MESSAGE_CHUNK);
        await trx.updateTable('envelopes')
          .set({ state: 'done', reason: null, reason_code: null, reason_detail: null, updated_at: now })
          .where('corpid', '=', corpid).where('msgid', 'in', chunk.map((m) => m.msgid)).execute();
      }
      for (const f of outcome.failures) {
        await trx.updateTable('envelopes')
          .set({ state: 'waiting', reason: f.reason, reason_code: f.code, reason_detail: f.detail, attempts: sql`attempts + 1`, updated_at: now })
          .where('corpid', '=', corpid).where('msgid', '=', f.msgid).execute();
      }
      if (outcome.newestMsgtime !== null) {
        await trx.updateTable('cursors').set({ newest_msgtime: outcome.newestMsgtime })
          .where('corpid', '=', corpid)
          .where((eb) => eb.or([eb('newest_msgtime', 'is', null), eb('newest_msgtime', '<', outcome.newestMsgtime!)]))
          .execute();
      }
    });
  }
}
