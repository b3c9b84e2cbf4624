/**
 * Every query on the alert tables. Each change is a compare-and-set on what the caller read, so
 * several evaluators on one database (several `run` processes) agree: an incident is opened once,
 * resolved once, and sent by the one process whose claim of the row's lease succeeded. The lease
 * is the row lease of store/claims, the one every background stage uses (its owner names, the
 * take-over from a holder that died on this host); what is sent is recorded only by its holder.
 */
import type { Kysely, Selectable } from 'kysely';
import { RowLease, updateHeldRow } from '../../store/claims/lease.ts';
import type { StoreDialect } from '../../store/dialects/dialect.ts';
import type { AlertIncidentTable, Database } from '../../store/schema.ts';
import type { AlertRule, AlertState } from '../../store/vocabulary.ts';

export type Incident = Selectable<AlertIncidentTable>;

/** a sender's hold on a row while its message is on the way */
const SEND_LEASE_MS = 60_000;

export class IncidentStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
  ) {}

  async all(): Promise<Incident[]> {
    return this.db.selectFrom('alert_incidents').selectAll().orderBy('rule').orderBy('corpid').execute();
  }

  /** Opens an incident for a rule and corp (the first ever, or the next after one resolved); false when another evaluator did. */
  async open(rule: AlertRule, corpid: string, detail: string, now: number, existing: Incident | undefined): Promise<boolean> {
    if (!existing) {
      const insert = this.db.insertInto('alert_incidents').values({
        rule,
        corpid,
        state: 'firing',
        incident: 1,
        detail,
        opened_at: now,
        resolved_at: null,
        notified: 'none',
        last_sent_at: null,
        failures: 0,
        next_try_at: 0,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      });
      // the key exists: another evaluator opened it first
      const r = await this.dialect.ignoreDuplicates(insert, ['rule', 'corpid']).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
    }
    const r = await this.db
      .updateTable('alert_incidents')
      .set({ state: 'firing', incident: existing.incident + 1, detail, opened_at: now, resolved_at: null, updated_at: now })
      .where('rule', '=', rule)
      .where('corpid', '=', corpid)
      .where('state', '=', 'resolved')
      .where('incident', '=', existing.incident)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Keeps a firing incident's detail current (the message says what is true when it is sent). */
  async refresh(incident: Incident, detail: string, now: number): Promise<void> {
    if (incident.detail === detail) return;
    await this.db
      .updateTable('alert_incidents')
      .set({ detail, updated_at: now })
      .where('rule', '=', incident.rule)
      .where('corpid', '=', incident.corpid)
      .where('state', '=', 'firing')
      .execute();
  }

  async resolve(incident: Incident, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('alert_incidents')
      .set({ state: 'resolved', resolved_at: now, updated_at: now })
      .where('rule', '=', incident.rule)
      .where('corpid', '=', incident.corpid)
      .where('state', '=', 'firing')
      .where('incident', '=', incident.incident)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** An incident that resolved before anything of it was sent (throttled): nothing to announce, it is closed quietly. */
  async closeUnsent(incident: Incident, now: number): Promise<void> {
    await this.db
      .updateTable('alert_incidents')
      .set({ notified: 'resolved', updated_at: now })
      .where('rule', '=', incident.rule)
      .where('corpid', '=', incident.corpid)
      .where('state', '=', 'resolved')
      .where('notified', '=', 'none')
      .execute();
  }

  /** Messages sent in the hour before `now`, over every rule and corp. */
  async sentInHour(now: number): Promise<number> {
    const r = await this.db
      .selectFrom('alert_sends')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('sent_at', '>', now - 3600_000)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Takes the row for sending its current state: only while that state is still unsent, no other
   * live process holds the row, its backoff has passed and the throttle allows. The read state is
   * part of the condition, so the message sent is the state the claim saw, and the failures read
   * are the row's while the lease is held (only its holder writes them).
   */
  async claim(incident: Incident, owner: string, throttleMs: number, now: number): Promise<boolean> {
    const lease = new RowLease(this.db, 'alert_incidents', keyOf(incident), owner, SEND_LEASE_MS, () => now);
    const answer = await lease.acquire((eb) =>
      eb.and([
        eb('state', '=', incident.state),
        eb('incident', '=', incident.incident),
        eb('notified', '=', incident.notified),
        eb('failures', '=', incident.failures),
        eb('next_try_at', '<=', now),
        eb.or([eb('last_sent_at', 'is', null), eb('last_sent_at', '<=', now - throttleMs)]),
      ]),
    );
    return answer.held;
  }

  /** Records what was sent and lets the row go, in one transaction with the send's log row. */
  async sent(incident: Incident, state: AlertState, owner: string, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // the send is logged even when the lease was lost meanwhile: it was sent, and counts in the hour's cap
      await updateHeldRow(trx, 'alert_incidents', keyOf(incident), owner, {
        notified: state,
        last_sent_at: now,
        failures: 0,
        next_try_at: 0,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
      });
      await trx.insertInto('alert_sends').values({ rule: incident.rule, corpid: incident.corpid, state, incident: incident.incident, sent_at: now }).execute();
    });
  }

  /** A send failed: the row goes back with a backoff, for this or another process to try again. */
  async failed(incident: Incident, owner: string, retryAt: number, now: number): Promise<void> {
    await updateHeldRow(this.db, 'alert_incidents', keyOf(incident), owner, {
      failures: incident.failures + 1,
      next_try_at: retryAt,
      lease_owner: null,
      lease_until: null,
      updated_at: now,
    });
  }
}

/** The row of an incident. */
function keyOf(incident: Incident): { rule: AlertRule; corpid: string } {
  return { rule: incident.rule, corpid: incident.corpid };
}
