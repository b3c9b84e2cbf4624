/**
 * The media of exported messages (`_archive.media`): per reference its state,
 * digest, size, sniffed type, where the bytes are stored, the browser-playable copy of a voice,
 * and the error (with WeCom's code) when it failed.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.ts';
import { mediaOfMessages } from '../jobs/media-job-repository.ts';

export interface ExportedMedia {
  slot: number;
  kind: string;
  path: string;
  state: string;
  sha256: string | null;
  size: number | null;
  md5: string | null;
  content_type: string | null;
  /** key in the media store (relative path under the media directory, or the S3 object key) */
  stored: string | null;
  voice_format?: string;
  converted: { key: string; content_type: string } | null;
  convert_error?: string;
  error_code: number | null;
  error: string | null;
}

/** Media rows of some messages, grouped by msgid, in slot order. */
export async function mediaForExport(db: Kysely<Database>, corpid: string, msgids: readonly string[]): Promise<Map<string, ExportedMedia[]>> {
  const out = new Map<string, ExportedMedia[]>();
  if (msgids.length === 0) return out;
  const rows = await mediaOfMessages(db, corpid, msgids);
  for (const r of rows) {
    let list = out.get(r.msgid);
    if (!list) out.set(r.msgid, (list = []));
    list.push({
      slot: r.slot,
      kind: r.kind,
      path: r.path,
      state: r.state,
      sha256: r.sha256,
      size: r.size === null ? null : Number(r.size),
      md5: r.md5,
      content_type: r.content_type,
      stored: r.storage_key,
      ...(r.voice_format ? { voice_format: r.voice_format } : {}),
      converted: r.converted_key && r.converted_type ? { key: r.converted_key, content_type: r.converted_type } : null,
      ...(r.convert_error ? { convert_error: r.convert_error } : {}),
      error_code: r.error_code,
      error: r.error,
    });
  }
  return out;
}
