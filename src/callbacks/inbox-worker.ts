/**
 * Works off the callback inbox: claims due rows, runs their handler, and records the outcome.
 * A handler that throws is retried with backoff; after `maxAttempts` tries the row is `failed`
 * and stays visible (status) until replayed. A ValidationError (payload that can never work) fails
 * at once. The endpoint rings `bell` after storing, so an event is handled within milliseconds;
 * `pollMs` covers events stored by other processes.
 */
import type { Logger } from '../app/logger.ts';
import { ValidationError } from '../errors/errors.ts';
import { type Backoff, doublingDelayMs, exponentialBackoff } from '../runtime/backoff.ts';
import { Bell, sleep } from '../runtime/sleep.ts';
import { type DatabaseHealth, isDatabaseUnavailable } from '../store/database-health.ts';
import type { RetryPolicy } from '../store/claims/claim-queue.ts';
import { newLeaseOwner } from '../store/lease-owner.ts';
import type { InboxKind } from './callback-events.ts';
import type { CallbackInbox, InboxRow } from './callback-inbox.ts';

export type InboxHandler = (row: InboxRow, signal: AbortSignal) => Promise<unknown>;

export interface InboxWorkerOptions {
  /** only these kinds (a process without pulls leaves msgaudit_notify to one that has them) */
  kinds?: readonly InboxKind[];
  batch?: number;
  maxAttempts?: number;
  backoff?: Backoff;
  pollMs?: number;
  leaseMs?: number;
}

export class InboxWorker {
  readonly bell = new Bell();
  private readonly owner = newLeaseOwner();
  private readonly batch: number;
  private readonly retry: RetryPolicy;
  private readonly pollMs: number;
  private readonly leaseMs: number;

  constructor(
    /** `health`: while the database is away the worker waits for it instead of retrying blind */
    private readonly deps: { inbox: CallbackInbox; handle: InboxHandler; log: Logger; now(): number; health?: DatabaseHealth },
    private readonly options: InboxWorkerOptions = {},
  ) {
    this.batch = options.batch ?? 20;
    this.retry = { maxAttempts: options.maxAttempts ?? 8, backoff: options.backoff ?? exponentialBackoff(2_000, 10 * 60_000) };
    this.pollMs = options.pollMs ?? 1_000;
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
  }

  /** Runs until aborted. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const handled = await this.drainOnce(signal);
        failures = 0;
        if (handled === 0) await sleep(this.pollMs, signal, this.bell);
      } catch (err) {
        if (signal.aborted) break;
        failures += 1;
        if (isDatabaseUnavailable(err)) {
          // logged once by the store's health; the claimed rows' leases run out and they are claimed again
          await this.deps.health?.waitUntilReachable(signal);
        } else {
          this.deps.log.error({ stage: 'callbacks', err: (err as Error).message }, 'inbox worker round failed; retrying');
        }
        await sleep(doublingDelayMs(500, 30_000, failures + 1), signal, this.bell);
      }
    }
  }

  /** Claims and handles one batch; returns how many rows it handled. */
  async drainOnce(signal: AbortSignal): Promise<number> {
    const { inbox, log } = this.deps;
    const rows = await inbox.claim(this.owner, this.batch, this.leaseMs, this.options.kinds);
    if (rows.length) log.debug({ stage: 'callbacks', owner: this.owner, claimed: rows.length }, 'inbox rows claimed');
    for (const row of rows) {
      if (signal.aborted) break;
      try {
        await this.deps.handle(row, signal);
        await inbox.complete(row.id, this.owner);
        log.debug({ corp: row.corpid, stage: 'callbacks', job: row.id, event: row.event, changeType: row.changeType, attempts: row.attempts }, 'callback event handled');
      } catch (err) {
        if (signal.aborted) break; // the lease runs out and another worker takes it
        const message = (err as Error).message ?? String(err);
        const { gaveUp: final } = await inbox.fail(row, this.owner, message, this.retry, err instanceof ValidationError);
        const logFields = { corp: row.corpid, stage: 'callbacks', job: row.id, event: row.event, changeType: row.changeType, attempts: row.attempts };
        if (final) log.error(logFields, `callback event failed for good (replay with \`wecom-archive callback replay --id ${row.id}\`): ${message}`);
        else log.warn(logFields, `callback event failed, will retry: ${message}`);
      }
    }
    return rows.length;
  }
}
