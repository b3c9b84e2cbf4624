/**
 * Reading a message's body without trusting it: every field may be missing or of another type,
 * since a message is stored exactly as WeCom sent it. Accessors return a safe default instead.
 */
import type { ArchivedMessage } from './types.ts';

export type Fields = Record<string, unknown>;

/**
 * The key each type's body lives under. Most use their own msgtype; these follow WeCom's message
 * format reference, which puts them elsewhere.
 */
const BODY_KEYS: Readonly<Record<string, string>> = {
  markdown: 'info',
  news: 'info',
  voiptext: 'info',
  qydiskfile: 'info',
  meeting_notification: 'info',
  docmsg: 'doc',
  external_redpacket: 'redpacket',
};

export function bodyKey(msgtype: string): string {
  return BODY_KEYS[msgtype] ?? msgtype;
}

export function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The type's body. Some senders put the fields at the top level (the reference's own location and
 * calendar examples do), so without a nested object the message itself is read.
 */
export function bodyOf(message: ArchivedMessage): Fields {
  const type = typeof message.msgtype === 'string' ? message.msgtype : '';
  const nested = message[bodyKey(type)] ?? message[type];
  return isFields(nested) ? nested : message;
}

export function str(fields: Fields, key: string): string {
  const v = fields[key];
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return '';
}

export function num(fields: Fields, key: string): number | undefined {
  const v = fields[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function list(fields: Fields, key: string): unknown[] {
  const v = fields[key];
  return Array.isArray(v) ? v : [];
}

export function strings(fields: Fields, key: string): string[] {
  return list(fields, key)
    .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
    .map(String);
}

/** A URL a person may be sent to: http(s) only, so `javascript:` and `data:` never become a link. */
export function safeHttpUrl(raw: string): string | undefined {
  try {
    const url = new URL(raw.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one JSON text held inside a message (chatrecord and mixed items); undefined when it is not an object. */
export function parseInner(content: unknown): Fields | undefined {
  if (isFields(content)) return content;
  if (typeof content !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(content);
    return isFields(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A nested item's type name as a msgtype: `ChatRecordImage` → `image`, `text` stays `text`. */
export function itemMsgtype(type: string): string {
  return type.replace(/^ChatRecord/, '').toLowerCase();
}

/**
 * The items of a chatrecord or mixed message as messages of their own, so they are rendered by the
 * same components (with their media) as top-level ones.
 */
export function nestedMessages(parent: ArchivedMessage): { message: ArchivedMessage; ok: boolean }[] {
  const body = bodyOf(parent);
  return list(body, 'item').map((raw, index) => {
    const item = isFields(raw) ? raw : {};
    const msgtype = itemMsgtype(str(item, 'type'));
    const inner = parseInner(item.content);
    const seconds = num(item, 'msgtime');
    const message: ArchivedMessage = { msgid: `${parent.msgid}#${index}`, msgtype };
    if (seconds !== undefined) message.msgtime = seconds * 1000;
    if (inner) message[bodyKey(msgtype)] = inner;
    return { message, ok: inner !== undefined && msgtype !== '' };
  });
}

/** The sdkfileid of a media body, if it names one. */
export function sdkfileidOf(fields: Fields): string {
  return str(fields, 'sdkfileid');
}
