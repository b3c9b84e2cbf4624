/**
 * What an outbox event says, and how a sink names it: the payload kept in the outbox (ids and
 * metadata only, never message content), the NATS subject, and the id a sink deduplicates by.
 * Pure; outbox-writer.ts writes the rows, delivery-stage.ts sends them.
 *
 * Subjects (every token checked, so a hostile msgtype or id can never widen or split one):
 *   wecom.<corpid>.message.<msgtype>      an archived message
 *   wecom.<corpid>.recall                 a recall (a message of msgtype revoke; it is a message event too)
 *   wecom.<corpid>.media.done             a media file stored (done or unverified)
 *   wecom.<corpid>.directory.<kind>.<field>   a directory change (e.g. member.name, member.userid,
 *                                         member.added, department.deleted)
 */
import type { Selectable } from 'kysely';
import type { EventOutboxTable } from '../store/schema.ts';
import type { EventKind } from '../store/vocabulary.ts';
import { decodeSeq } from '../store/seq-codec.ts';

/** An event as a stage hands it to the outbox: what it reports (unique per corp and kind) and its metadata. */
export interface NewEvent {
  kind: EventKind;
  ref: string;
  payload: Record<string, unknown>;
}

/** The columns of a stored message an event is made from. */
export interface MessageFacts {
  msgid: string;
  seq: string;
  action: string;
  from_id: string;
  roomid: string;
  msgtime: number;
  msgtype: string;
  conversation_key: string;
  pre_msgid?: string | null | undefined;
}

/** The events of messages committed together: one per message, and one more per recall, in seq order. */
export function messageEvents(messages: readonly MessageFacts[]): NewEvent[] {
  const events: NewEvent[] = [];
  // stored seqs are fixed-width text, so text order is seq order
  for (const m of [...messages].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0))) {
    const meta = {
      msgid: m.msgid,
      seq: decodeSeq(m.seq).toString(),
      msgtime: Number(m.msgtime),
      msgtype: m.msgtype,
      action: m.action,
      from: m.from_id,
      conversation: m.conversation_key,
      roomid: m.roomid,
    };
    events.push({ kind: 'message', ref: m.msgid, payload: meta });
    if (m.msgtype === 'revoke') events.push({ kind: 'recall', ref: m.msgid, payload: { ...meta, recalled_msgid: m.pre_msgid ?? null } });
  }
  return events;
}

/** The columns of a finished media job a media_done event is made from. */
export interface MediaFacts {
  id: number;
  msgid: string;
  slot: number;
  msgtype: string;
  kind: string;
  state: string;
  sha256: string | null;
  size: number | null;
  content_type: string | null;
}

/** A media file stored: done (md5 verified) or unverified (WeCom gave no md5). Other final states report nothing. */
export function mediaDoneEvent(job: MediaFacts): NewEvent | undefined {
  if (job.state !== 'done' && job.state !== 'unverified') return undefined;
  return {
    kind: 'media_done',
    ref: `${job.msgid}/${job.slot}`.slice(0, 191),
    payload: {
      msgid: job.msgid,
      slot: Number(job.slot),
      msgtype: job.msgtype,
      media_kind: job.kind,
      state: job.state,
      sha256: job.sha256,
      size: job.size === null ? null : Number(job.size),
      content_type: job.content_type,
    },
  };
}

/**
 * A change of the directory: a rename or a member's new userid (field `name`, `userid`), as its name
 * history records it; or a member, department, customer or group added or gone (field `added`,
 * `deleted`; `new` is its name when added, `old` its name when deleted).
 */
export interface DirectoryChange {
  /** unique per change (the history keeps every change, also the same one twice) */
  changeId: string;
  entityKind: string;
  entityId: string;
  field: string;
  oldValue: string | null;
  newValue: string | null;
  source: string;
  changedAt: number;
}

export function directoryChangeEvent(c: DirectoryChange): NewEvent {
  return {
    kind: 'directory_change',
    ref: c.changeId,
    payload: { entity: c.entityKind, id: c.entityId, field: c.field, old: c.oldValue, new: c.newValue, source: c.source, changed_at: c.changedAt },
  };
}

/** A subject token: NATS tokens cannot hold `.`, `*`, `>` or white space, so anything else becomes `_`. */
export function subjectToken(text: string): string {
  const token = text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64);
  return token === '' ? '_' : token;
}

/** A stored event as a sink needs it: its outbox row. */
export type StoredEvent = Selectable<EventOutboxTable>;

/** The NATS subject of an event (see the list at the top). */
export function subjectOf(event: Pick<StoredEvent, 'corpid' | 'kind' | 'payload'>): string {
  const corp = subjectToken(event.corpid);
  const data = JSON.parse(event.payload) as Record<string, unknown>;
  switch (event.kind) {
    case 'message':
      return `wecom.${corp}.message.${subjectToken(String(data.msgtype ?? ''))}`;
    case 'recall':
      return `wecom.${corp}.recall`;
    case 'media_done':
      return `wecom.${corp}.media.done`;
    case 'directory_change':
      return `wecom.${corp}.directory.${subjectToken(String(data.entity ?? ''))}.${subjectToken(String(data.field ?? ''))}`;
  }
}

/**
 * The id a sink deduplicates by (NATS: Nats-Msg-Id): `<corpid>/<msgid>` for a message, so that the
 * same message delivered twice (a crash after the publish, before the position was committed) is
 * dropped by the stream; `<corpid>/<kind>/<ref>` for the other kinds.
 */
export function dedupIdOf(event: Pick<StoredEvent, 'corpid' | 'kind' | 'ref'>): string {
  return event.kind === 'message' ? `${event.corpid}/${event.ref}` : `${event.corpid}/${event.kind}/${event.ref}`;
}

/** The JSON a sink receives: the event's ids and metadata, and with content opt-in, the decrypted message. */
export function eventBody(event: StoredEvent, content?: unknown): string {
  return JSON.stringify({
    id: dedupIdOf(event),
    corpid: event.corpid,
    seq: Number(event.seq),
    kind: event.kind,
    created_at: Number(event.created_at),
    data: JSON.parse(event.payload) as unknown,
    ...(content === undefined ? {} : { content }),
  });
}
