/**
 * The pull loop of one corp: while this process holds the corp's pull lease (pull-lease.ts), it
 * pulls page after page (pull-page.ts), waits once caught up, backs off after transient failures
 * and stops on configuration errors. It hands work on only through the rows it commits; `events`
 * let the decrypt loop wake up at once instead of after its own wait.
 *
 * The lease covers the decryption of what the holder stored, too: the decrypt loop of a process that
 * does not hold it stands by (corp-archiver.ts). So `run --once` keeps it, renewed, after its pull is
 * caught up until its own decrypt loop is done; given back sooner, another process would take it and
 * decrypt the same envelopes again from the watermark.
 */
import type { Logger } from '../app/logger.ts';
import type { CorpConfig } from '../corps/corp-registry.ts';
import type { Backoff } from '../runtime/backoff.ts';
import { Bell, sleep } from '../runtime/sleep.ts';
import type { LeaseAnswer } from '../store/claims/lease.ts';
import { type DatabaseHealth, describeDatabaseError, isDatabaseUnavailable } from '../store/database-health.ts';
import { recordPullError } from './cursor-store.ts';
import { PullLease } from './pull-lease.ts';
import type { PullSlots } from './pull-slots.ts';
import { type PullDeps, PullLeaseLostError, pullPage } from './pull-page.ts';
import { classifyPullError, type PullState } from './retry-policy.ts';

export interface PullLoopDeps extends PullDeps {
  log: Logger;
  /** while the database is away the loop waits for it (database-health.ts) */
  health: DatabaseHealth;
  /** the process's limit on corps it pulls at once (`run --max-corps`); absent: none */
  pullSlots?: PullSlots | undefined;
}

export interface PullTiming {
  /** pause between pulls once caught up (a msgaudit_notify rings the bell earlier) */
  pollIntervalMs: number;
  /** at most 600 GetChatData calls a minute per corp */
  minCallIntervalMs: number;
  backoff: Backoff;
  /** a stopped corp (configuration error) is tried again after this long */
  stoppedRetryMs: number;
  /** `run --once`: consecutive transient failures before giving up on this run */
  onceMaxFailures: number;
  /** how long the pull lease lasts past each page (plus the corp's GetChatData timeout) */
  pullLeaseMs: number;
}

/** What the loop reports as it goes (the corp's progress object, shared with the other loops). */
export interface PullProgress {
  cursor: bigint;
  envelopes: number;
  state: PullState;
  lastError: string | null;
  /** another process holds the corp's pull lease (`host/pid/random`): this one does not pull */
  pullHeldBy?: string;
}

export interface PullLoopEvents {
  /** envelopes were stored, or the pull was taken over with what the last holder left undecrypted */
  workForDecrypt(): void;
  /** the first answer about the lease is in (progress.pullHeldBy is set), or the loop ended */
  leaseAnswered(): void;
  /** the loop stopped pulling (`once`: caught up or given up; else aborted); a lease it holds may be kept a while longer */
  pullEnded(): void;
}

export class PullLoop {
  private readonly lease: PullLease;
  /** whether the last answer about the lease was "held" */
  private leaseHeld = false;
  /** how long a take or renewal of the lease holds it */
  private readonly leaseTtlMs: number;

  constructor(
    private readonly deps: PullLoopDeps,
    private readonly corp: CorpConfig,
    private readonly timing: PullTiming,
    private readonly progress: PullProgress,
    /** rung to pull now (msgaudit_notify) */
    private readonly bell: Bell,
    private readonly events: PullLoopEvents,
    owner: string,
  ) {
    this.leaseTtlMs = timing.pullLeaseMs + corp.timeoutS * 1000;
    this.lease = new PullLease(deps.db, corp.corpid, owner, this.leaseTtlMs, deps.now);
  }

  /**
   * Runs until aborted, or with `once` until caught up; then, given `keepUntil` (`run --once`: the
   * end of this process's decrypt loop), keeps a lease it holds, renewed, until that settles or the
   * run is aborted. Gives the lease up on its way out.
   */
  async run(signal: AbortSignal, once: boolean, keepUntil?: Promise<unknown>): Promise<void> {
    try {
      try {
        await this.pullPages(signal, once);
      } finally {
        this.events.leaseAnswered();
        this.events.pullEnded();
      }
      if (keepUntil && this.leaseHeld) await this.keepLease(signal, keepUntil);
    } finally {
      if (this.leaseHeld) this.deps.pullSlots?.give();
      this.leaseHeld = false;
      this.events.leaseAnswered();
      // let another process pull at once
      await this.lease
        .release()
        .catch((err: unknown) =>
          this.deps.log.warn({ corp: this.corp.corpid, stage: 'pull', err: (err as Error).message }, 'could not give up the pull lease; it lapses by itself'),
        );
    }
  }

  /**
   * Keeps the lease, renewing it every third of its time, until `until` settles or `signal` aborts.
   * A renewal that finds the lease lost (this process stalled past its end) ends the wait, and
   * holdsPull names the new holder in progress.pullHeldBy, so the decrypt loop stands by.
   */
  private async keepLease(signal: AbortSignal, until: Promise<unknown>): Promise<void> {
    const corp = this.corp.corpid;
    let settled = false;
    const ended = new Bell();
    const settle = () => {
      settled = true;
      ended.ring();
    };
    until.then(settle, settle);
    this.deps.log.debug({ corp, stage: 'pull' }, 'caught up; the pull lease is kept until this process has decrypted what it stored');
    while (!settled && !signal.aborted) {
      await sleep(this.leaseTtlMs / 3, signal, ended);
      if (settled || signal.aborted) break;
      try {
        if (!(await this.holdsPull(true))) {
          this.deps.log.warn(
            { corp, stage: 'pull', holder: this.progress.pullHeldBy },
            'the pull lease was lost while this process decrypted what it stored; the new holder decrypts the rest',
          );
          break;
        }
      } catch (err) {
        // the next round tries again; a lease not renewed before its end lapses by itself. The database
        // being away is logged once by the store's health
        if (!isDatabaseUnavailable(err)) this.deps.log.warn({ corp, stage: 'pull', err: (err as Error).message }, 'could not renew the pull lease; trying again');
      }
    }
  }

  /**
   * Whether this process may pull the corp now: it holds the pull lease, else it says who does.
   * `once`: a slot is reserved before asking (pull-slots.ts), so a lease won is never given back.
   */
  private async holdsPull(once: boolean): Promise<boolean> {
    const slots = this.deps.pullSlots;
    const full = (): boolean => {
      const holder = `another process (this one pulls its --max-corps ${slots!.max})`;
      if (this.progress.pullHeldBy !== holder)
        this.deps.log.debug({ corp: this.corp.corpid, stage: 'pull', max: slots!.max }, 'this process pulls as many corps as it may; it leaves this one to others');
      this.progress.pullHeldBy = holder;
      this.events.leaseAnswered();
      return false;
    };
    // a corp this process does not pull yet needs one of its slots (pull-slots.ts): none free, no need to ask
    const needsSlot = !this.leaseHeld && slots !== undefined;
    const reserved = needsSlot && once;
    if (reserved ? !(await slots.reserve()) : needsSlot && !slots.free) return full();
    let lease: LeaseAnswer;
    try {
      lease = await this.lease.acquire();
    } catch (err) {
      if (reserved) slots.settle(false);
      throw err;
    }
    if (reserved) slots.settle(lease.held);
    else if (lease.held && needsSlot && !slots.take()) {
      // every slot went to other corps' loops while this one asked: the lease goes straight back
      await this.lease.release();
      return full();
    }
    // a slot follows the lease: held while the lease is, free once another process has it
    if (!lease.held && this.leaseHeld) slots?.give();
    // taken once, then renewed before every page: only the taking is worth a line
    if (lease.held && !this.leaseHeld) this.deps.log.debug({ corp: this.corp.corpid, stage: 'pull', owner: this.lease.owner }, 'pull lease taken: this process pulls the corp');
    if (!lease.held) this.deps.log.debug({ corp: this.corp.corpid, stage: 'pull', holder: lease.holder?.owner ?? null }, 'pull lease held by another process; this one waits');
    this.leaseHeld = lease.held;
    if (lease.held) {
      if (this.progress.pullHeldBy !== undefined) {
        delete this.progress.pullHeldBy;
        // taken over: what the last holder stored and did not decrypt is this process's now
        this.events.workForDecrypt();
      }
    } else {
      const holder = lease.holder?.owner ?? 'another process';
      if (this.progress.pullHeldBy !== holder)
        this.deps.log.info({ corp: this.corp.corpid, stage: 'pull', holder }, 'another process holds the pull of this corp; this one waits until that lease ends');
      this.progress.pullHeldBy = holder;
    }
    // only now, with pullHeldBy set: the decrypt loop reads it as soon as it hears this
    this.events.leaseAnswered();
    return lease.held;
  }

  private async pullPages(signal: AbortSignal, once: boolean): Promise<void> {
    const { log, now } = this.deps;
    let failures = 0;
    let lastCall = 0;
    while (!signal.aborted) {
      await sleep(lastCall + this.timing.minCallIntervalMs - now(), signal);
      if (signal.aborted) break;
      lastCall = now();
      try {
        if (!(await this.holdsPull(once))) {
          // its holder pulls and decrypts; this run only downloads media (claimed job by job)
          if (once) break;
          await sleep(this.timing.pollIntervalMs, signal, this.bell);
          continue;
        }
        const result = await pullPage(this.deps, this.corp, signal, this.lease.owner);
        log.debug(
          { corp: this.corp.corpid, stage: 'pull', from: String(result.from), to: String(result.cursor), received: result.received, stored: result.stored, full: result.full },
          result.full ? 'page fetched; it was full, so the next is asked for at once' : 'page fetched; caught up',
        );
        failures = 0;
        this.progress.cursor = result.cursor;
        this.progress.envelopes += result.stored;
        this.progress.state = 'ok';
        this.progress.lastError = null;
        if (result.gaps) log.warn({ corp: this.corp.corpid, stage: 'pull', gaps: result.gaps }, 'WeCom skipped seq values: messages older than the 5-day window are lost');
        if (result.stored) this.events.workForDecrypt();
        if (result.full) continue;
        if (once) break;
        log.debug({ corp: this.corp.corpid, stage: 'pull', waitMs: this.timing.pollIntervalMs }, 'caught up; next pull after the poll interval or a msgaudit_notify');
        await sleep(this.timing.pollIntervalMs, signal, this.bell);
      } catch (err) {
        if (signal.aborted) break;
        // another process took the lease over while this page was on the way: nothing was committed,
        // and the next round finds out who holds it
        if (err instanceof PullLeaseLostError) {
          log.warn({ corp: this.corp.corpid, stage: 'pull' }, err.message);
          continue;
        }
        failures += 1;
        if (isDatabaseUnavailable(err)) {
          // the database is away: nothing of this page was committed. The outage is logged once by
          // the store's health, not here every round, and is no reason to give up, even with --once
          this.progress.state = 'retrying';
          this.progress.lastError = `database unreachable: ${describeDatabaseError(err)}`;
          log.debug({ corp: this.corp.corpid, stage: 'pull', reason: this.progress.lastError }, 'pull paused until the database answers again');
          await this.deps.health.waitUntilReachable(signal);
          await sleep(this.timing.backoff.delayMs(failures), signal);
          continue;
        }
        const verdict = classifyPullError(err);
        const message = (err as Error).message ?? String(err);
        this.progress.state = verdict.action === 'stop' ? 'stopped' : 'retrying';
        this.progress.lastError = message;
        await recordPullError(this.deps.db, this.corp.corpid, { state: verdict.action === 'stop' ? 'stopped' : 'retrying', code: verdict.code, message, at: now() }).catch(
          (e: unknown) => log.error({ corp: this.corp.corpid, stage: 'pull', err: e }, 'could not record the pull error'),
        );
        if (verdict.action === 'stop') {
          log.error({ corp: this.corp.corpid, stage: 'pull', code: verdict.code }, `pull stopped: ${message}`);
          if (once) break;
          log.debug(
            { corp: this.corp.corpid, stage: 'pull', code: verdict.code, waitMs: this.timing.stoppedRetryMs },
            'configuration error: the pull is tried again after the stopped-corp interval',
          );
          await sleep(this.timing.stoppedRetryMs, signal, this.bell);
        } else {
          log.warn({ corp: this.corp.corpid, stage: 'pull', code: verdict.code, failures }, `pull failed, retrying: ${message}`);
          if (once && failures >= this.timing.onceMaxFailures) break;
          const waitMs = this.timing.backoff.delayMs(failures);
          log.debug({ corp: this.corp.corpid, stage: 'pull', code: verdict.code, failures, waitMs }, `backing off after ${failures} failed pull(s) in a row (transient error)`);
          await sleep(waitMs, signal);
        }
      }
    }
  }
}
