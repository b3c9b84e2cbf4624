/**
 * A conversation's media gallery: its images and videos, files, links or voice recordings, newest
 * first, a page at a time. The conversation is found through the caller's scope first (out of scope
 * answers as missing); the items are then read from that conversation only.
 *
 * Media items come from the media rows joined to the conversation's messages (a mixed message or a
 * chat record gives one item per file it holds); links are the conversation's `link` messages, which
 * have no media row. Both walk the conversation's messages newest first on messages_conv_idx.
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { ValidationError } from '../errors/errors.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';
import type { MediaKind } from '../store/vocabulary.ts';
import { decodeSeq } from '../store/seq-codec.ts';
import { type PersonRef, personNames, personRef } from './directory-names.ts';
import { contentOf, parseStoredMessage, shorten } from './message-content.ts';
import { visibleConversation } from './message-pages.ts';
import { MEDIA_VIEW_COLUMNS, type MediaView, mediaViewOf } from './message-views.ts';
import { decodeGalleryCursor, encodeGalleryCursor, type GalleryCursor } from './read-cursor.ts';
import { pageLimit } from './read-params.ts';

export const GALLERY_KINDS = ['visual', 'file', 'link', 'voice'] as const;
export type GalleryKind = (typeof GALLERY_KINDS)[number];

/** The media kinds each tab shows (link has none: it reads messages). */
const MEDIA_KINDS: Record<Exclude<GalleryKind, 'link'>, readonly MediaKind[]> = {
  visual: ['image', 'video'],
  file: ['file'],
  voice: ['voice', 'meeting_voice_call'],
};

/** A link card's fields, as text (the reader never fetches the URL or its image). */
export interface GalleryLink {
  title: string | null;
  description: string | null;
  url: string | null;
}

export interface GalleryItem {
  msgid: string;
  /** decimal, unpadded */
  seq: string;
  msgtime: number;
  msgtype: string;
  from: PersonRef;
  /** the media file (null for a link) */
  media: MediaView | null;
  /** the link's card (null for media) */
  link: GalleryLink | null;
}

export interface GalleryPage {
  conversation: string;
  kind: GalleryKind;
  items: GalleryItem[];
  /** the cursor of the next (older) page; null at the end */
  next: string | null;
}

export interface GalleryOptions {
  before?: string;
  limit?: number;
}

interface ItemRow {
  msgid: string;
  seq: string;
  msgtime: number | string;
  msgtype: string;
  from_id: string;
  slot: number | string;
}

/** (msgtime, seq, slot) before the cursor, on the messages aliased `msg` and a slot expression. */
function olderThan(c: GalleryCursor, slot: RawBuilder<number>): RawBuilder<SqlBool> {
  return sql<SqlBool>`(msg.msgtime < ${c.time} OR (msg.msgtime = ${c.time} AND (msg.seq < ${c.seq} OR (msg.seq = ${c.seq} AND ${slot} < ${c.slot}))))`;
}

/** A page of the `kind` items of `conversation` in `corpid`, newest first; see GalleryOptions. */
export async function conversationGallery(
  db: Kysely<Database>,
  _dialect: StoreDialect,
  scope: ReadScope,
  corpid: string,
  conversation: string,
  kind: GalleryKind,
  options: GalleryOptions = {},
): Promise<GalleryPage> {
  if (!GALLERY_KINDS.includes(kind)) throw new ValidationError('READ_PARAMS_INVALID', `kind must be one of ${GALLERY_KINDS.join(', ')}`);
  const limit = pageLimit(options.limit);
  const before = options.before !== undefined ? decodeGalleryCursor(options.before, kind) : undefined;
  const key = await visibleConversation(db, scope, corpid, conversation);

  let rows: Array<ItemRow & { raw?: Buffer | Uint8Array; media?: MediaView }>;
  if (kind === 'link') {
    let query = db
      .selectFrom('messages as msg')
      .select(['msg.msgid', 'msg.seq', 'msg.msgtime', 'msg.msgtype', 'msg.from_id', 'msg.raw', sql<number>`0`.as('slot')])
      .where('msg.corpid', '=', corpid)
      .where('msg.conversation_key', '=', key)
      .where('msg.msgtype', '=', 'link');
    if (before) query = query.where(olderThan(before, sql<number>`0`));
    rows = await query
      .orderBy('msg.msgtime', 'desc')
      .orderBy('msg.seq', 'desc')
      .limit(limit + 1)
      .execute();
  } else {
    let query = db
      .selectFrom('messages as msg')
      .innerJoin('media as m', (j) => j.onRef('m.corpid', '=', 'msg.corpid').onRef('m.msgid', '=', 'msg.msgid'))
      .select(['msg.msgid', 'msg.seq', 'msg.msgtime', 'msg.msgtype', 'msg.from_id', ...MEDIA_VIEW_COLUMNS.map((c) => `m.${c}` as const)])
      .where('msg.corpid', '=', corpid)
      .where('msg.conversation_key', '=', key)
      .where('m.kind', 'in', MEDIA_KINDS[kind]);
    if (before) query = query.where(olderThan(before, sql<number>`m.slot`));
    const found = await query
      .orderBy('msg.msgtime', 'desc')
      .orderBy('msg.seq', 'desc')
      .orderBy('m.slot', 'desc')
      .limit(limit + 1)
      .execute();
    rows = found.map((r) => ({ ...r, media: mediaViewOf(r) }));
  }

  const page = rows.slice(0, limit);
  const names = await personNames(
    db,
    corpid,
    page.map((r) => r.from_id),
  );
  const items = page.map((r): GalleryItem => ({
    msgid: r.msgid,
    seq: decodeSeq(r.seq).toString(),
    msgtime: Number(r.msgtime),
    msgtype: r.msgtype,
    from: personRef(r.from_id, names),
    media: r.media ?? null,
    link: r.raw !== undefined ? linkOf(contentOf(parseStoredMessage(r.raw), 'link')) : null,
  }));
  const end = page[page.length - 1];
  const next = rows.length > limit && end ? encodeGalleryCursor({ kind, time: Number(end.msgtime), seq: end.seq, slot: Number(end.slot) }) : null;
  return { conversation: key, kind, items, next };
}

/** A link message's card fields, each a bounded string or null (whatever the message held). */
function linkOf(content: Record<string, unknown> | null): GalleryLink {
  const field = (name: string, chars: number) => {
    const value = content?.[name];
    return typeof value === 'string' && value.trim() !== '' ? shorten(value, chars) : null;
  };
  // the URL is kept whole up to a bound (shorten would change its spaces); it is shown as text
  const url = typeof content?.link_url === 'string' && content.link_url !== '' ? content.link_url.slice(0, 2000) : null;
  return { title: field('title', 200), description: field('description', 400), url };
}
