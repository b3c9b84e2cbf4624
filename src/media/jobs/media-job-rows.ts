/**
 * The media jobs of committed messages, as rows to insert: one per media reference, pending (or
 * failed at once when the reference can never be downloaded). Pure; the repository inserts them.
 */
import type { NewMediaJob } from '../../store/schema.ts';
import { MEDIA_MSGTYPES, type MediaRef, mediaRefsOf } from './media-refs.ts';

/** What a media job keeps of its reference. */
export type MediaJobRef = Pick<MediaRef, 'slot' | 'kind' | 'path' | 'sdkfileid' | 'md5' | 'size' | 'fileName' | 'invalid'>;

/** A committed message as the media jobs are made from it. */
export interface MediaSourceMessage {
  msgid: string;
  msgtype: string;
  raw: Buffer | Uint8Array;
}

/** The media jobs of some messages (pure). Messages of types without media cost nothing. */
export function mediaJobRows(corpid: string, messages: ReadonlyArray<MediaSourceMessage>, now: number): NewMediaJob[] {
  const rows: NewMediaJob[] = [];
  for (const m of messages) {
    if (!MEDIA_MSGTYPES.has(m.msgtype)) continue;
    for (const ref of mediaRefsOf(Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength).toString('utf8'), m.msgtype)) {
      rows.push(newMediaJob(corpid, m.msgid, m.msgtype, ref, now));
    }
  }
  return rows;
}

/** The job of one media reference: pending and untried, or failed at once when the reference can never be downloaded. */
export function newMediaJob(corpid: string, msgid: string, msgtype: string, ref: MediaJobRef, now: number): NewMediaJob {
  const error = ref.invalid;
  return {
    corpid,
    msgid,
    slot: ref.slot,
    msgtype,
    kind: ref.kind,
    path: ref.path.slice(0, 255),
    sdkfileid: ref.sdkfileid,
    md5_expected: ref.md5,
    size_expected: ref.size,
    file_name: ref.fileName,
    state: error ? 'failed' : 'pending',
    index_token: '',
    bytes_done: 0,
    partial_id: null,
    attempts: 0,
    failures: 0,
    next_try_at: 0,
    lease_owner: null,
    lease_until: null,
    error_code: null,
    error,
    sha256: null,
    md5: null,
    size: null,
    content_type: null,
    storage_key: null,
    voice_format: null,
    converted_key: null,
    converted_type: null,
    convert_error: null,
    created_at: now,
    updated_at: now,
    finished_at: error ? now : null,
  };
}
