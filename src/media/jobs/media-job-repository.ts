/**
 * Every query on the `media` table but the claims (media-job-queue.ts): jobs made from committed
 * messages (in the decrypt stage's transaction, so a stored message always has its jobs), requeued
 * by `media retry`, the voice copies still to make, and the counts for `status` and exports. The
 * media stage claims the jobs later; the two stages meet only through this table (stages hand
 * work on by rows).
 */
import type { Kysely, Transaction } from 'kysely';
import type { StoreDialect } from '../../store/dialects/dialect.ts';
import type { Database, MediaJob, MediaState, MediaTable } from '../../store/schema.ts';
import type { VoiceFormat } from '../verify/content-sniff.ts';
import { mediaJobRows, type MediaSourceMessage } from './media-job-rows.ts';
import { MEDIA_MSGTYPES } from './media-refs.ts';

/**
 * Inserts the media jobs of committed messages, inside the caller's transaction. Idempotent: a
 * job that exists (same corp, msgid and slot) is left as it is (docs/design.md rule 2). Returns how many
 * jobs were new.
 */
export async function insertMediaJobs(
  trx: Transaction<Database>,
  dialect: StoreDialect,
  corpid: string,
  messages: ReadonlyArray<MediaSourceMessage>,
  now: number,
): Promise<number> {
  return dialect.insertIgnoring(trx, 'media', mediaJobRows(corpid, messages, now), ['corpid', 'msgid', 'slot']);
}

export const REQUEUE_STATES: readonly MediaState[] = ['failed', 'expired', 'unverified', 'pending'];

/**
 * `media retry`: puts jobs of a state back to pending, from the first byte, with fresh tries.
 * A job that is downloading right now (lease held) is left alone.
 */
export async function requeueMedia(db: Kysely<Database>, options: { corpid?: string | undefined; state: MediaState }, now: number): Promise<number> {
  let q = db
    .updateTable('media')
    .set({ state: 'pending', index_token: '', bytes_done: 0, attempts: 0, failures: 0, next_try_at: 0, lease_owner: null, lease_until: null, updated_at: now })
    .where('state', '=', options.state)
    // a reference that can never be downloaded (malformed sdkfileid) stays failed
    .where('sdkfileid', '!=', '');
  if (options.corpid !== undefined) q = q.where('corpid', '=', options.corpid);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/**
 * Jobs for messages stored before media jobs existed (or whose jobs were lost): scans a corp's
 * messages of media types and inserts what is missing. Idempotent.
 */
export async function scanMessagesForMedia(db: Kysely<Database>, dialect: StoreDialect, corpid: string, now: number, batch = 500): Promise<number> {
  let after: string | null = null;
  let made = 0;
  for (;;) {
    let q = db
      .selectFrom('messages')
      .select(['msgid', 'msgtype', 'raw', 'seq'])
      .where('corpid', '=', corpid)
      .where('msgtype', 'in', [...MEDIA_MSGTYPES]);
    if (after !== null) q = q.where('seq', '>', after);
    const rows = await q.orderBy('seq').limit(batch).execute();
    if (rows.length === 0) return made;
    after = rows[rows.length - 1]!.seq;
    const messages = rows.map((r) => ({ msgid: r.msgid, msgtype: r.msgtype, raw: Buffer.from(r.raw) }));
    made += await db.transaction().execute((trx) => insertMediaJobs(trx, dialect, corpid, messages, now));
  }
}

/** A stored voice recording that has no browser-playable copy yet. */
export interface VoiceWithoutCopy {
  id: number;
  sha256: string;
  storage_key: string;
  voice_format: VoiceFormat;
}

/** What making a voice's playable copy came to: the copy, or why there is none. */
export type VoiceCopyResult = Pick<MediaTable, 'converted_key' | 'converted_type' | 'convert_error'>;

/** Up to `limit` stored voices of the corp with no copy yet and no reason why not, oldest first. */
export async function voicesWithoutCopy(db: Kysely<Database>, corpid: string, limit: number): Promise<VoiceWithoutCopy[]> {
  const rows = await db
    .selectFrom('media')
    .select(['id', 'sha256', 'storage_key', 'voice_format'])
    .where('corpid', '=', corpid)
    .where('voice_format', 'is not', null)
    .where('storage_key', 'is not', null)
    .where('converted_key', 'is', null)
    .where('convert_error', 'is', null)
    .where('state', 'in', ['done', 'unverified', 'failed'])
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows as VoiceWithoutCopy[];
}

/** Records a voice's copy (or why it has none), unless another process recorded one first. */
export async function recordVoiceCopy(db: Kysely<Database>, id: number, result: VoiceCopyResult, now: number): Promise<void> {
  await db
    .updateTable('media')
    .set({ ...result, updated_at: now })
    .where('id', '=', id)
    .where('converted_key', 'is', null)
    .where('convert_error', 'is', null)
    .execute();
}

/** Jobs and stored bytes per corp and state. */
export async function mediaStateTotals(db: Kysely<Database>): Promise<Array<{ corpid: string; state: MediaState; n: number; bytes: number | null }>> {
  return db
    .selectFrom('media')
    .select(['corpid', 'state', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.sum<number>('size').as('bytes')])
    .groupBy(['corpid', 'state'])
    .execute();
}

/** Voice recordings per corp with a playable copy, and ones that could not be converted. */
export async function voiceCopyTotals(db: Kysely<Database>): Promise<Array<{ corpid: string; converted: number; failed: number }>> {
  return db
    .selectFrom('media')
    .select(['corpid', (eb) => eb.fn.count<number>('converted_key').as('converted'), (eb) => eb.fn.count<number>('convert_error').as('failed')])
    .where('voice_format', 'is not', null)
    .groupBy('corpid')
    .execute();
}

/** A failed or expired job as operators see it: what and why, never the message's content. */
export type MediaFailureRow = Pick<MediaJob, 'id' | 'msgid' | 'kind' | 'state' | 'file_name' | 'error_code' | 'error' | 'attempts' | 'updated_at'>;

/** The corp's latest failed or expired jobs, newest first (`status` shows a few, the operations page more). */
export async function latestMediaFailures(db: Kysely<Database>, corpid: string, limit: number): Promise<MediaFailureRow[]> {
  return db
    .selectFrom('media')
    .select(['id', 'msgid', 'kind', 'state', 'file_name', 'error_code', 'error', 'attempts', 'updated_at'])
    .where('corpid', '=', corpid)
    .where('state', 'in', ['failed', 'expired'])
    .orderBy('updated_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
}

/** The columns an export shows of a message's media. */
export type ExportedMediaRow = Pick<
  MediaJob,
  | 'msgid'
  | 'slot'
  | 'kind'
  | 'path'
  | 'state'
  | 'sha256'
  | 'size'
  | 'md5'
  | 'content_type'
  | 'storage_key'
  | 'voice_format'
  | 'converted_key'
  | 'converted_type'
  | 'convert_error'
  | 'error_code'
  | 'error'
>;

/** The media rows of some messages, by msgid and then slot. */
export async function mediaOfMessages(db: Kysely<Database>, corpid: string, msgids: readonly string[]): Promise<ExportedMediaRow[]> {
  return db
    .selectFrom('media')
    .select([
      'msgid',
      'slot',
      'kind',
      'path',
      'state',
      'sha256',
      'size',
      'md5',
      'content_type',
      'storage_key',
      'voice_format',
      'converted_key',
      'converted_type',
      'convert_error',
      'error_code',
      'error',
    ])
    .where('corpid', '=', corpid)
    .where('msgid', 'in', [...msgids])
    .orderBy('msgid')
    .orderBy('slot')
    .execute();
}
