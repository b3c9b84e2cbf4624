/**
 * The alert rules: each reads a few grouped rows and says which configured corps it fires for now,
 * with a detail in a few words (counts, codes, times — never a secret or a message's content).
 * A corp a rule does not name is not firing for it: its incident, if open, is resolved.
 */
import type { Kysely } from 'kysely';
import { WECOM_RETENTION_MS } from '../../pull/gap-kind.ts';
import type { Database } from '../../store/schema.ts';
import type { AlertRule } from '../../store/vocabulary.ts';

export type { AlertRule };

/** Thresholds of the rules (config.ts AlertConfig). */
export interface AlertThresholds {
  readonly hoursLeft: number;
  readonly mediaFailures: number;
  readonly waitingEnvelopes: number;
  readonly sdkRestarts: number;
}

export interface Finding {
  readonly rule: AlertRule;
  readonly corpid: string;
  readonly detail: string;
}

const HOUR_MS = 3600_000;
/** a loss gap keeps its incident open this long after it was detected */
export const GAP_HOLD_MS = HOUR_MS;

/** What fires now, for every configured corp. */
export async function findFirings(db: Kysely<Database>, t: AlertThresholds, now: number): Promise<Finding[]> {
  const hourAgo = now - HOUR_MS;
  const [cursors, gaps, mediaFailures, waiting, restarts] = await Promise.all([
    db
      .selectFrom('corps')
      .innerJoin('cursors', 'cursors.corpid', 'corps.corpid')
      .select(['corps.corpid', 'cursors.state', 'cursors.last_error_code', 'cursors.caught_up_at'])
      .execute(),
    db
      .selectFrom('gaps')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('detected_at').as('newest')])
      .where('kind', '=', 'loss')
      .where('detected_at', '>', now - GAP_HOLD_MS)
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('media')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'failed')
      .where('updated_at', '>', hourAgo)
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('envelopes')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'waiting')
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('sdk_host_restarts')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .where('occurred_at', '>', hourAgo)
      .groupBy('corpid')
      .execute(),
  ]);
  const configured = new Set(cursors.map((c) => c.corpid));
  const out: Finding[] = [];
  for (const c of cursors) {
    if (c.state === 'stopped')
      out.push({
        rule: 'corp_stopped',
        corpid: c.corpid,
        detail: `pulling stopped on a configuration error${c.last_error_code !== null ? ` (code ${c.last_error_code})` : ''}; see status`,
      });
    if (c.caught_up_at !== null) {
      const hours = (WECOM_RETENTION_MS - (now - Number(c.caught_up_at))) / HOUR_MS;
      if (hours < t.hoursLeft)
        out.push({
          rule: 'hours_left',
          corpid: c.corpid,
          detail: `${Math.max(0, Math.floor(hours * 10) / 10)} hours left before unpulled data leaves WeCom's 5-day window (threshold ${t.hoursLeft})`,
        });
    }
  }
  const over = (rule: AlertRule, rows: Array<{ corpid: string; n: number }>, threshold: number, what: (n: number) => string) => {
    for (const r of rows) if (configured.has(r.corpid) && Number(r.n) > threshold) out.push({ rule, corpid: r.corpid, detail: what(Number(r.n)) });
  };
  over('new_gap', gaps, 0, (n) => `${n} seq gap(s) where WeCom may have dropped data, in the last hour; see status`);
  over('media_failures', mediaFailures, t.mediaFailures, (n) => `${n} media downloads failed in the last hour (threshold ${t.mediaFailures})`);
  over('envelopes_waiting', waiting, t.waitingEnvelopes, (n) => `${n} envelopes wait to be decrypted (threshold ${t.waitingEnvelopes}); see status`);
  over('sdk_restarts', restarts, t.sdkRestarts, (n) => `${n} SDK host restarts in the last hour (threshold ${t.sdkRestarts})`);
  return out;
}
