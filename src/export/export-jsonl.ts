import type { Kysely } from 'kysely';
import { mediaForExport } from '../media/storage/media-export.ts';
import { NameResolver } from '../directory/name-resolver.ts';
import { jsonOnOneLine } from '../messages/normalize-message.ts';
import type { Database } from '../store/schema.ts';
import { decodeSeq } from '../store/seq-codec.ts';

export interface ExportOptions {
  /** msgtime >= since (ms) */
  since?: number | undefined;
  /** msgtime < until (ms) */
  until?: number | undefined;
  batchSize?: number;
}

/**
 * The archive of one corp as JSONL lines, in seq order: each line is the decrypted message JSON with
 * all its keys and values exactly as WeCom sent them (big integers included: the raw text is
 * extended, never re-serialized), plus `seq` as a decimal string and archive fields under `_archive`.
 * Reads in keyset-paginated batches, so memory stays flat for any archive size.
 */
export async function* exportJsonl(db: Kysely<Database>, corpid: string, options: ExportOptions = {}): AsyncGenerator<string> {
  const batchSize = options.batchSize ?? 500;
  let after: string | null = null;
  // Names come from the directory as it is now (a renamed member shows under the new name).
  const names = new NameResolver(db, corpid);
  for (;;) {
    let query = db
      .selectFrom('messages')
      .select(['msgid', 'seq', 'raw', 'conversation_key', 'is_external', 'is_updown', 'known_type', 'pre_msgid', 'from_id', 'tolist', 'roomid'])
      .where('corpid', '=', corpid);
    if (after !== null) query = query.where('seq', '>', after);
    if (options.since !== undefined) query = query.where('msgtime', '>=', options.since);
    if (options.until !== undefined) query = query.where('msgtime', '<', options.until);
    const rows = await query.orderBy('seq').limit(batchSize).execute();
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.seq;
    const recalls = await db
      .selectFrom('messages')
      .select(['msgid', 'pre_msgid'])
      .where('corpid', '=', corpid)
      .where(
        'pre_msgid',
        'in',
        rows.map((r) => r.msgid),
      )
      .execute();
    const recalledBy = new Map(recalls.map((r) => [r.pre_msgid!, r.msgid]));
    const tolists = new Map(rows.map((r) => [r.msgid, parseIdList(r.tolist)]));
    await names.load(
      rows.flatMap((r) => [r.from_id, ...tolists.get(r.msgid)!]),
      rows.map((r) => r.roomid),
    );
    const media = await mediaForExport(
      db,
      corpid,
      rows.map((r) => r.msgid),
    );
    for (const row of rows) {
      const archive = {
        corpid,
        msgid: row.msgid,
        conversation: row.conversation_key,
        external: row.is_external === 1,
        updown_stream: row.is_updown === 1,
        known_type: row.known_type === 1,
        ...(row.pre_msgid ? { recalls: row.pre_msgid } : {}),
        ...(recalledBy.has(row.msgid) ? { recalled_by: recalledBy.get(row.msgid) } : {}),
        // sender, recipients (in tolist order) and room as the directory names them; null: not known
        names: {
          sender: row.from_id ? names.person(row.from_id) : null,
          recipients: tolists.get(row.msgid)!.map((id) => names.person(id)),
          room: row.roomid ? names.room(row.roomid) : null,
        },
        ...(media.has(row.msgid) ? { media: media.get(row.msgid) } : {}),
      };
      yield appendFields(Buffer.from(row.raw).toString('utf8'), `"seq":"${decodeSeq(row.seq)}","_archive":${JSON.stringify(archive)}`);
    }
  }
}

/** Adds `fields` (already JSON: `"k":v,…`) as the last members of the JSON object in `json`. */
export function appendFields(json: string, fields: string): string {
  const text = jsonOnOneLine(json).trimEnd();
  const body = text.endsWith('}') ? text.slice(0, -1).trimEnd() : text;
  return `${body}${body.endsWith('{') ? '' : ','}${fields}}`;
}

function parseIdList(text: string): string[] {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
