/**
 * Keeps every corp's directory fresh: a full sync at start and then every `fullSyncIntervalMs`,
 * WeCom's callback IP list every `callbackIpIntervalMs`, and between those a scan of new messages
 * and the refresh queue, every `scanIntervalMs` or at once when `wake(corpid)` is called (an event
 * handler queued something). One loop per corp, so one corp without secrets never holds up another.
 */
import type { Logger } from '../app/logger.ts';
import { doublingDelayMs } from '../runtime/backoff.ts';
import { Bell, sleep } from '../runtime/sleep.ts';
import { type DatabaseHealth, isDatabaseUnavailable } from '../store/database-health.ts';
import type { WeComApiClient } from '../wecom-api/wecom-api-client.ts';
import type { DirectorySync } from './directory-sync.ts';

export interface DirectoryTiming {
  fullSyncIntervalMs: number;
  callbackIpIntervalMs: number;
  scanIntervalMs: number;
  /** refresh queue entries handled per round */
  queueBatch: number;
}

export const DEFAULT_DIRECTORY_TIMING: DirectoryTiming = {
  fullSyncIntervalMs: 6 * 3_600_000,
  callbackIpIntervalMs: 24 * 3_600_000,
  scanIntervalMs: 30_000,
  queueBatch: 50,
};

export interface DirectoryRunnerDeps {
  sync: DirectorySync;
  client(corpid: string): Promise<WeComApiClient>;
  corpIds(): Promise<string[]>;
  retryGaveUp(corpid: string): Promise<number>;
  /** while the database is away the loops wait for it, and go on where they were once it is back */
  health?: DatabaseHealth;
  log: Logger;
  now(): number;
}

export class DirectoryRunner {
  private readonly bells = new Map<string, Bell>();

  constructor(
    private readonly deps: DirectoryRunnerDeps,
    private readonly timing: DirectoryTiming = DEFAULT_DIRECTORY_TIMING,
  ) {}

  /** Makes the corp's loop look at its queue now (an event handler queued an id). */
  wake(corpid: string): void {
    this.bells.get(corpid)?.ring();
  }

  /** One full round for a corp, draining the queue: `directory sync` and tests. */
  async syncNow(corpid: string, signal?: AbortSignal, options: { full?: boolean; callbackIps?: boolean } = {}): Promise<void> {
    const client = await this.deps.client(corpid);
    if (options.full !== false) await this.fullSync(corpid, client, signal);
    if (options.callbackIps) await this.deps.sync.runPart(corpid, 'callback_ips', () => this.deps.sync.syncCallbackIps(corpid, client, signal), signal);
    await this.incremental(corpid, client, signal);
  }

  /** Runs every corp's loop until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    // the database may go away as the process starts: the stage waits for it rather than end
    const corpids = this.deps.health ? await this.deps.health.retryWhileUnavailable(() => this.deps.corpIds(), signal) : await this.deps.corpIds();
    for (const corpid of corpids) if (!this.bells.has(corpid)) this.bells.set(corpid, new Bell());
    await Promise.all(corpids.map((corpid) => this.loop(corpid, signal)));
  }

  private async loop(corpid: string, signal: AbortSignal): Promise<void> {
    const { log, now } = this.deps;
    const bell = this.bells.get(corpid)!;
    let nextFull = 0;
    let nextIps = 0;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const client = await this.deps.client(corpid);
        if (now() >= nextFull) {
          log.debug({ corp: corpid, stage: 'directory' }, 'full directory sync due');
          await this.fullSync(corpid, client, signal);
          nextFull = now() + this.timing.fullSyncIntervalMs;
        }
        if (now() >= nextIps) {
          log.debug({ corp: corpid, stage: 'directory' }, "WeCom's callback IP list due");
          await this.deps.sync.runPart(corpid, 'callback_ips', () => this.deps.sync.syncCallbackIps(corpid, client, signal), signal);
          nextIps = now() + this.timing.callbackIpIntervalMs;
        }
        await this.incremental(corpid, client, signal);
        failures = 0;
        const waitMs = Math.min(this.timing.scanIntervalMs, nextFull - now(), nextIps - now());
        log.debug({ corp: corpid, stage: 'directory', waitMs, nextFullInMs: nextFull - now() }, 'directory round done; waiting for the next scan or an event');
        await sleep(waitMs, signal, bell);
      } catch (err) {
        if (signal.aborted) break;
        // the database is away: logged once by the store's health; this round is done again when it is
        // back, not after the long backoff below (meant for a corp that keeps failing)
        if (isDatabaseUnavailable(err)) {
          await this.deps.health?.waitUntilReachable(signal);
          await sleep(1_000, signal);
          continue;
        }
        failures += 1;
        // A corp removed meanwhile or the like: log and come back later; never crash the process.
        log.error({ corp: corpid, stage: 'directory', err: (err as Error).message }, 'directory round failed; retrying');
        // doubling from the scan interval, at most 64 times it and never over an hour
        const interval = this.timing.scanIntervalMs;
        await sleep(doublingDelayMs(interval, Math.min(interval * 64, 3_600_000), failures + 1), signal, bell);
      }
    }
  }

  private async fullSync(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<void> {
    const { sync } = this.deps;
    await this.deps.retryGaveUp(corpid);
    await sync.runPart(corpid, 'members', () => sync.syncMembers(corpid, client, signal), signal);
    if (signal?.aborted) return;
    await sync.runPart(corpid, 'tags', () => sync.syncTags(corpid, client, signal), signal);
    if (signal?.aborted) return;
    await sync.runPart(corpid, 'customer_groups', () => sync.syncCustomerGroups(corpid, client, signal), signal);
    if (signal?.aborted) return;
    await sync.runPart(corpid, 'permit_users', () => sync.syncPermitUsers(corpid, client, signal), signal);
  }

  /** New messages scanned for ids, then the queue worked off (bounded, so a huge queue yields). */
  private async incremental(corpid: string, client: WeComApiClient, signal?: AbortSignal): Promise<void> {
    const { sync, log } = this.deps;
    await sync.runPart(corpid, 'scan', () => sync.scanMessages(corpid, signal), signal);
    for (let round = 0; round < 100 && !signal?.aborted; round++) {
      let handled = 0;
      await sync.runPart(
        corpid,
        'refresh',
        async () => {
          handled = await sync.processQueue(corpid, client, this.timing.queueBatch, signal);
          return { items: handled };
        },
        signal,
      );
      if (handled < this.timing.queueBatch) break;
      // a full batch: more may be due, go on at once (bounded, so a huge queue yields to the next round)
      log.debug({ corp: corpid, stage: 'directory', round, handled }, 'refresh batch was full; taking another');
    }
  }
}
