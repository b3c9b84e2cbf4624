/**
 * The alert stage: every interval it runs the rules, opens and resolves incidents (incident-store.ts),
 * and sends what has not been sent to every target — once per incident, once when it resolves, at
 * most once per rule and corp per throttle period and `maxPerHour` over all. Several processes may
 * run it on one database: state changes are compare-and-set, and only the process whose claim of
 * an incident's lease succeeds sends it. A send that fails is tried again with a backoff; one of two
 * targets failing means both are tried again, so a target can get an alert twice, never none.
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../../app/logger.ts';
import { type Backoff, doublingBackoff } from '../../runtime/backoff.ts';
import { sleep } from '../../runtime/sleep.ts';
import type { StoreDialect } from '../../store/dialects/dialect.ts';
import { isDatabaseUnavailable } from '../../store/database-health.ts';
import { newLeaseOwner } from '../../store/lease-owner.ts';
import type { Database } from '../../store/schema.ts';
import type { AlertNotice } from './alert-message.ts';
import { type AlertThresholds, findFirings } from './alert-rules.ts';
import type { AlertTarget } from './alert-targets.ts';
import { type Incident, IncidentStore } from './incident-store.ts';

export interface AlertEvaluatorOptions extends AlertThresholds {
  readonly targets: readonly AlertTarget[];
  readonly intervalMs: number;
  readonly throttleMs: number;
  readonly maxPerHour: number;
  /** first retry of a failed send; doubles up to 15 min */
  readonly retryBaseMs?: number;
  readonly now?: () => number;
}

/** What one evaluation did (tests and debug logs). */
export interface EvaluationResult {
  opened: number;
  resolved: number;
  sent: number;
  failed: number;
}

export class AlertEvaluator {
  private readonly store: IncidentStore;
  private readonly owner = newLeaseOwner();
  private readonly now: () => number;
  /** when a failed send is tried again, by failures in a row */
  private readonly retry: Backoff;

  constructor(
    private readonly db: Kysely<Database>,
    dialect: StoreDialect,
    private readonly log: Logger,
    private readonly options: AlertEvaluatorOptions,
  ) {
    this.store = new IncidentStore(db, dialect);
    this.now = options.now ?? Date.now;
    this.retry = doublingBackoff(options.retryBaseMs ?? 30_000, 15 * 60_000);
  }

  /** Evaluates every `intervalMs` until `signal` aborts; a database outage waits for the next round. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const r = await this.evaluate();
        if (r.opened + r.resolved + r.sent + r.failed > 0) this.log.debug({ stage: 'alerts', ...r }, 'alerts evaluated');
      } catch (err) {
        if (!isDatabaseUnavailable(err)) this.log.error({ stage: 'alerts', err }, 'alert evaluation failed; trying again next round');
      }
      await sleep(this.options.intervalMs, signal).catch(() => undefined);
    }
  }

  /** One round: rules, incident changes, sends. */
  async evaluate(): Promise<EvaluationResult> {
    const result: EvaluationResult = { opened: 0, resolved: 0, sent: 0, failed: 0 };
    const now = this.now();
    const firings = await findFirings(this.db, this.options, now);
    const incidents = await this.store.all();
    const key = (rule: string, corpid: string) => `${rule}\u0000${corpid}`;
    const byKey = new Map(incidents.map((i) => [key(i.rule, i.corpid), i]));
    const firingKeys = new Set<string>();
    for (const f of firings) {
      firingKeys.add(key(f.rule, f.corpid));
      const existing = byKey.get(key(f.rule, f.corpid));
      if (existing?.state === 'firing') await this.store.refresh(existing, f.detail, now);
      else if (await this.store.open(f.rule, f.corpid, f.detail, now, existing)) result.opened++;
    }
    for (const i of incidents) if (i.state === 'firing' && !firingKeys.has(key(i.rule, i.corpid)) && (await this.store.resolve(i, now))) result.resolved++;
    await this.deliver(await this.store.all(), now, result);
    return result;
  }

  private async deliver(incidents: readonly Incident[], now: number, result: EvaluationResult): Promise<void> {
    const unsent = incidents.filter((i) => i.state !== i.notified);
    if (unsent.length === 0) return;
    let budget = this.options.maxPerHour - (await this.store.sentInHour(now));
    for (const i of unsent) {
      if (i.state === 'resolved' && i.notified === 'none') {
        await this.store.closeUnsent(i, now);
        continue;
      }
      if (budget <= 0) {
        this.log.warn({ stage: 'alerts', rule: i.rule, corp: i.corpid }, `alert held back: ${this.options.maxPerHour} alerts were sent in the last hour`);
        continue;
      }
      if (!(await this.store.claim(i, this.owner, this.options.throttleMs, now))) continue;
      const notice: AlertNotice = {
        rule: i.rule,
        corpid: i.corpid,
        state: i.state,
        incident: i.incident,
        detail: i.detail,
        openedAt: Number(i.opened_at),
        resolvedAt: i.resolved_at === null ? null : Number(i.resolved_at),
      };
      const errors: string[] = [];
      for (const target of this.options.targets) await target.send(notice, now).catch((err: unknown) => errors.push((err as Error).message));
      if (errors.length === 0) {
        await this.store.sent(i, i.state, this.owner, now);
        budget--;
        result.sent++;
        this.log.info({ stage: 'alerts', rule: i.rule, corp: i.corpid, state: i.state, incident: i.incident }, `alert sent: ${i.rule} ${i.state}`);
      } else {
        const retryAt = now + this.retry.delayMs(i.failures + 1);
        await this.store.failed(i, this.owner, retryAt, now);
        result.failed++;
        this.log.warn({ stage: 'alerts', rule: i.rule, corp: i.corpid, errors, retryAt: new Date(retryAt).toISOString() }, 'alert not delivered; trying again later');
      }
    }
  }
}
