import type { Kysely } from 'kysely';
import { SDK_CODES } from '../errors/wecom-codes.ts';
import type { Database } from '../store/schema.ts';
import { isWaitReason, type RetryKind, retryKindOf } from './wait-reasons.ts';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/** A corp's envelopes that wait for one reason and code (`status`, `run --once`). */
export interface WaitingGroup {
  reason: string;
  code: number | null;
  count: number;
  /** e.g. "key version 3 missing" */
  label: string;
  /** how they get another try (see RetryKind) */
  retry: RetryKind;
  /** when the earliest of them is tried again by itself; null when none waits for an automatic retry */
  nextAttemptAt: number | null;
  /** when the oldest of them was stored */
  oldestReceivedAt: number;
  /** how long they have waited since they were stored */
  age: { underHour: number; hourToDay: number; overDay: number };
}

/** What a reason and code mean, in a few words. */
export function waitingLabel(reason: string, code: number | null): string {
  switch (reason) {
    case 'key_missing': return `key version ${code} missing`;
    case 'sdk_error': return code === null ? 'SDK backend unavailable' : `SDK error ${code}${SDK_CODES[code] ? ` (${SDK_CODES[code]!.meaning})` : ''}`;
    case 'rsa_failed': return `RSA decryption failed (key version ${code} does not match)`;
    case 'bad_base64': return 'encrypt_random_key is not base64';
    case 'bad_json': return 'decrypted message is not valid JSON';
    case 'bad_envelope': return 'malformed chat data entry';
    default: return reason;
  }
}

/** Waiting envelopes of every corp (or one), grouped by reason and code, with their ages; biggest group first. */
export async function waitingGroups(db: Kysely<Database>, now: number, corpid?: string): Promise<Map<string, WaitingGroup[]>> {
  let query = db.selectFrom('envelopes')
    .select((eb) => [
      'corpid', 'reason', 'reason_code',
      eb.fn.countAll<number>().as('n'),
      eb.fn.min('received_at').as('oldest'),
      eb.fn.min('next_attempt_at').as('next_at'),
      eb.fn.sum<number>(eb.case().when('received_at', '>=', now - HOUR_MS).then(eb.lit(1)).else(eb.lit(0)).end()).as('under_hour'),
      eb.fn.sum<number>(eb.case().when('received_at', '<', now - DAY_MS).then(eb.lit(1)).else(eb.lit(0)).end()).as('over_day'),
    ])
    .where('state', '=', 'waiting');
  if (corpid !== undefined) query = query.where('corpid', '=', corpid);
  const rows = await query.groupBy(['corpid', 'reason', 'reason_code']).execute();
  const groups = new Map<string, WaitingGroup[]>();
  for (const r of rows) {
    const reason = r.reason ?? 'unknown';
    const count = Number(r.n);
    const underHour = Number(r.under_hour ?? 0);
    const overDay = Number(r.over_day ?? 0);
    const list = groups.get(r.corpid) ?? [];
    list.push({
      reason, code: r.reason_code, count, label: waitingLabel(reason, r.reason_code),
      retry: isWaitReason(reason) ? retryKindOf(reason, r.reason_code) : 'operator',
      nextAttemptAt: r.next_at === null || r.next_at === undefined ? null : Number(r.next_at),
      oldestReceivedAt: Number(r.oldest),
      age: { underHour, hourToDay: count - underHour - overDay, overDay },
    });
    groups.set(r.corpid, list);
  }
  for (const list of groups.values()) list.sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  return groups;
}
