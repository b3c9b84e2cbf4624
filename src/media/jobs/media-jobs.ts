/**
 * Media jobs as rows: made from committed messages (in the decrypt stage's transaction, so a stored
 * message always has its jobs), requeued by `media retry`. The media stage claims them later; the
 * two stages meet only through this table (style.md: stages hand work on by rows).
 */
import type { Kysely, Transaction } from 'kysely';
import type { StoreDialect } from '../../store/dialects/dialect.ts';
import type { Database, MediaState, NewMediaJob } from '../../store/schema.ts';
import { MEDIA_MSGTYPES, mediaRefsOf } from './media-refs.ts';

/** The media jobs of some messages (pure). Messages of types without media cost nothing. */
export function mediaJobRows(corpid: string, messages: ReadonlyArray<{ msgid: string; msgtype: string; raw: Buffer | Uint8Array }>, now: number): NewMediaJob[] {
  const rows: NewMediaJob[] = [];
  for (const m of messages) {
    if (!MEDIA_MSGTYPES.has(m.msgtype)) continue;
    for (const ref of mediaRefsOf(Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength).toString('utf8'), m.msgtype)) {
      const error = ref.invalid;
      rows.push({
        corpid, msgid: m.msgid, slot: ref.slot, msgtype: m.msgtype, kind: ref.kind, path: ref.path.slice(0, 255),
        sdkfileid: ref.sdkfileid, md5_expected: ref.md5, size_expected: ref.size, file_name: ref.fileName,
        state: error ? 'failed' : 'pending', index_token: '', bytes_done: 0, partial_id: null, attempts: 0, failures: 0, next_try_at: 0,
        lease_owner: null, lease_until: null, error_code: null, error,
        sha256: null, md5: null, size: null, content_type: null, storage_key: null,
        voice_format: null, converted_key: null, converted_type: null, convert_error: null,
        created_at: now, updated_at: now, finished_at: error ? now : null,
      });
    }
  }
  return rows;
}

/**
 * Inserts the media jobs of committed messages, inside the caller's transaction. Idempotent: a
 * job that exists (same corp, msgid and slot) is left as it is (design rule 2). Returns how many
 * jobs were new.
 */
export async function insertMediaJobs(trx: Transaction<Database>, dialect: StoreDialect, corpid: string, messages: ReadonlyArray<{ msgid: string; msgtype: string; raw: Buffer | Uint8Array }>, now: number): Promise<number> {
  return dialect.insertIgnoring(trx, 'media', mediaJobRows(corpid, messages, now), ['corpid', 'msgid', 'slot']);
}

export const REQUEUE_STATES: readonly MediaState[] = ['failed', 'expired', 'unverified', 'pending'];

/**
 * `media retry`: puts jobs of a state back to pending, from the first byte, with fresh tries.
 * A job that is downloading right now (lease held) is left alone.
 */
export async function requeueMedia(db: Kysely<Database>, options: { corpid?: string | undefined; state: MediaState }, now: number): Promise<number> {
  let q = db.updateTable('media')
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
    let q = db.selectFrom('messages').select(['msgid', 'msgtype', 'raw', 'seq']).where('corpid', '=', corpid).where('msgtype', 'in', [...MEDIA_MSGTYPES]);
    if (after !== null) q = q.where('seq', '>', after);
    const rows = await q.orderBy('seq').limit(batch).execute();
    if (rows.length === 0) return made;
    after = rows[rows.length - 1]!.seq;
    const messages = rows.map((r) => ({ msgid: r.msgid, msgtype: r.msgtype, raw: Buffer.from(r.raw) }));
    made += await db.transaction().execute((trx) => insertMediaJobs(trx, dialect, corpid, messages, now));
  }
}
