/**
 * Rows of a small archive for the metrics, readiness and alert tests, put straight into a store:
 * a cursor, envelopes that wait, gaps, media jobs, SDK host restarts, callback events and a
 * directory sync state, each with only the values the tests look at.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import type { GapKind, PullState, RestartCause, SdkHostLane } from '../../src/store/vocabulary.ts';
import { mediaRow } from '../support/media-rows.ts';

export async function insertCursor(
  db: Kysely<Database>,
  corpid: string,
  fields: { state?: PullState; caughtUpAt?: number | null; newestMsgtime?: number | null; leaseOwner?: string | null; leaseUntil?: number | null; lastError?: string | null } = {},
): Promise<void> {
  await db
    .insertInto('cursors')
    .values({
      corpid,
      seq: encodeSeq(100n),
      state: fields.state ?? 'ok',
      last_error_code: null,
      last_error: fields.lastError ?? null,
      last_pull_at: null,
      last_success_at: null,
      caught_up_at: fields.caughtUpAt ?? null,
      newest_msgtime: fields.newestMsgtime ?? null,
      decrypted_seq: encodeSeq(100n),
      lease_owner: fields.leaseOwner ?? null,
      lease_until: fields.leaseUntil ?? null,
      updated_at: 1,
    })
    .execute();
}

export async function insertWaitingEnvelope(db: Kysely<Database>, corpid: string, msgid: string, seq: bigint, reason: 'key_missing' | 'rsa_failed', now: number): Promise<void> {
  await db
    .insertInto('envelopes')
    .values({
      corpid,
      msgid,
      seq: encodeSeq(seq),
      publickey_ver: 2,
      encrypt_random_key: 'k',
      encrypt_chat_msg: 'c',
      state: 'waiting',
      reason,
      reason_code: 2,
      reason_detail: null,
      attempts: 0,
      next_attempt_at: null,
      received_at: now,
      updated_at: now,
    })
    .execute();
}

export async function insertGap(db: Kysely<Database>, corpid: string, after: bigint, next: bigint, kind: GapKind, detectedAt: number): Promise<void> {
  await db
    .insertInto('gaps')
    .values({ corpid, after_seq: encodeSeq(after), next_seq: encodeSeq(next), detected_at: detectedAt, note: 'test', kind, cursor_age_ms: null })
    .execute();
}

export async function insertRestart(db: Kysely<Database>, corpid: string, lane: SdkHostLane, cause: RestartCause, at: number): Promise<void> {
  await db
    .insertInto('sdk_host_restarts')
    .values({ corpid, lane, cause, signal: null, exit_code: null, operation: null, rss_bytes: null, detail: 'test', occurred_at: at })
    .execute();
}

export async function insertMediaJob(db: Kysely<Database>, corpid: string, msgid: string, state: 'done' | 'failed' | 'pending', size: number | null, at: number): Promise<void> {
  await db
    .insertInto('media')
    .values(
      mediaRow(corpid, msgid, 'image', at, {
        state,
        attempts: 1,
        error_code: state === 'failed' ? 10001 : null,
        error: state === 'failed' ? 'network' : null,
        size,
        finished_at: state === 'pending' ? null : at,
      }),
    )
    .execute();
}

export async function insertInboxEvent(db: Kysely<Database>, corpid: string, key: string, state: 'pending' | 'failed' | 'done', at: number): Promise<void> {
  await db
    .insertInto('callback_inbox')
    .values({
      corpid,
      app: 'contacts',
      dedup_key: key.padEnd(64, '0'),
      kind: 'change_contact',
      event: 'change_contact',
      change_type: 'update_user',
      body: '<xml/>',
      remote_addr: null,
      event_time: at,
      state,
      attempts: 0,
      next_attempt_at: at,
      lease_owner: null,
      lease_until: null,
      last_error: state === 'failed' ? 'boom' : null,
      received_at: at,
      updated_at: at,
      done_at: null,
    })
    .execute();
}
