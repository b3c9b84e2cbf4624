/**
 * A stored media file as a caller may fetch it: found by its SHA-256 through a message that references
 * it, in a conversation the caller's scope holds. The same bytes may belong to many messages (files are
 * stored once); one visible reference is enough, and a file no visible message references answers
 * exactly as an unknown one does.
 */
import type { Kysely } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { NotFoundError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { checkId } from './read-params.ts';
import { conversationScope } from '../access/scope-sql.ts';

export interface VisibleMedia {
  readonly sha256: string;
  readonly kind: string;
  readonly size: number;
  /** sniffed from the bytes when stored; null when unknown */
  readonly contentType: string | null;
  /** the name the message gave (metadata only, never part of a key) */
  readonly fileName: string | null;
  readonly storageKey: string;
  /** the playable copy of a voice (audio/mpeg), null when there is none */
  readonly mp3Key: string | null;
  /** the message that makes it visible, and its conversation (for the audit row) */
  readonly msgid: string;
  readonly conversation: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

export const mediaNotFound = () => new NotFoundError('MEDIA_NOT_FOUND', 'no such media file');

/** The stored file `sha256` of `corpid` when a message in `scope` references it; else NotFound (the same for both). */
export async function visibleMedia(db: Kysely<Database>, scope: ReadScope, corpid: string, sha256: string): Promise<VisibleMedia> {
  checkId(corpid, 'corpid', 64);
  if (!SHA256.test(sha256)) throw mediaNotFound();
  const row = await db
    .selectFrom('media as m')
    .innerJoin('messages as msg', (j) => j.onRef('msg.corpid', '=', 'm.corpid').onRef('msg.msgid', '=', 'm.msgid'))
    .innerJoin('conversations as c', (j) => j.onRef('c.corpid', '=', 'msg.corpid').onRef('c.conversation_key', '=', 'msg.conversation_key'))
    .select(['m.sha256', 'm.kind', 'm.size', 'm.content_type', 'm.file_name', 'm.storage_key', 'm.converted_key', 'm.converted_type', 'm.msgid', 'msg.conversation_key'])
    .where('m.corpid', '=', corpid)
    .where('m.sha256', '=', sha256)
    .where('m.storage_key', 'is not', null)
    .where('m.size', 'is not', null)
    .where(await conversationScope(db, scope, corpid))
    .orderBy('m.id')
    .limit(1)
    .executeTakeFirst();
  if (!row || row.storage_key === null || row.size === null) throw mediaNotFound();
  return {
    sha256,
    kind: row.kind,
    size: Number(row.size),
    contentType: row.content_type,
    fileName: row.file_name,
    storageKey: row.storage_key,
    mp3Key: row.converted_key !== null && row.converted_type === 'audio/mpeg' ? row.converted_key : null,
    msgid: row.msgid,
    conversation: row.conversation_key,
  };
}
