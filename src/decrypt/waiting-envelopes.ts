import type { Kysely } from 'kysely';
import { SDK_CODES } from '../errors/wecom-codes.ts';
import type { Database } from '../store/schema.ts';
import { EnvelopeRepository } from './envelope-repository.ts';
import { type RetryKind, retryKindOf, type WaitReason } from './wait-reasons.ts';

/** A corp's envelopes that wait for one reason and code (`status`, `run --once`). */
export interface WaitingGroup {
  /** 'unknown': a waiting envelope without a reason, which should not exist */
  reason: WaitReason | 'unknown';
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
export function waitingLabel(reason: WaitReason | 'unknown', code: number | null): string {
  switch (reason) {
    case 'key_missing':
      return `key version ${code} missing`;
    case 'sdk_error':
      return code === null ? 'SDK backend unavailable' : `SDK error ${code}${SDK_CODES[code] ? ` (${SDK_CODES[code]!.meaning})` : ''}`;
    case 'rsa_failed':
      return `RSA decryption failed (key version ${code} does not match)`;
    case 'bad_base64':
      return 'encrypt_random_key is not base64';
    case 'bad_json':
      return 'decrypted message is not valid JSON';
    case 'bad_envelope':
      return 'malformed chat data entry';
    case 'unknown':
      return reason;
  }
}

/** Waiting envelopes of every corp (or one), grouped by reason and code, with their ages; biggest group first. */
export async function waitingGroups(db: Kysely<Database>, now: number, corpid?: string): Promise<Map<string, WaitingGroup[]>> {
  const groups = new Map<string, WaitingGroup[]>();
  for (const r of await new EnvelopeRepository(db).waitingCounts(now, corpid)) {
    const reason = r.reason ?? 'unknown';
    const list = groups.get(r.corpid) ?? [];
    list.push({
      reason,
      code: r.code,
      count: r.count,
      label: waitingLabel(reason, r.code),
      retry: reason === 'unknown' ? 'operator' : retryKindOf(reason, r.code),
      nextAttemptAt: r.nextAttemptAt,
      oldestReceivedAt: r.oldestReceivedAt,
      age: { underHour: r.underHour, hourToDay: r.count - r.underHour - r.overDay, overDay: r.overDay },
    });
    groups.set(r.corpid, list);
  }
  for (const list of groups.values()) list.sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
  return groups;
}
