import { ValidationError } from '../errors/errors.ts';
import { clip } from '../runtime/clip.ts';
import { KNOWN_MSGTYPES } from './message-types.ts';

/** The searchable, indexable columns of one decrypted message (the raw bytes are kept beside them). */
export interface NormalizedMessage {
  msgid: string;
  action: string;
  fromId: string;
  tolist: string[];
  roomid: string;
  msgtime: number;
  msgtype: string;
  conversationKey: string;
  isExternal: boolean;
  isUpdown: boolean;
  knownType: boolean;
  preMsgid: string | null;
}

/**
 * Decrypted JSON may hold raw control characters inside strings (WeCom does send them), which
 * JSON.parse rejects. Escaping them as \u00XX keeps every character of the text and makes it valid.
 * Outside strings only whitespace control characters can be legal, and those stay as they are.
 */
export function escapeControlCharacters(text: string): string {
  // Fast path: nothing to do for the common message.
  if (!/[\u0000-\u001f]/.test(text)) return text;
  let out = '';
  let inString = false;
  let escaped = false;
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) inString = false;
      else if (c < 0x20) {
        out += text.slice(last, i) + `\\u${c.toString(16).padStart(4, '0')}`;
        last = i + 1;
      }
    } else if (c === 0x22) inString = true;
  }
  return out + text.slice(last);
}

/**
 * Parses decrypted message JSON into a plain object. Only used to read the normalized columns, all of
 * which are strings or millisecond times: big integers elsewhere in the message (meeting ids beyond
 * 2^53) may lose precision in this object, which is why the raw bytes, not this object, are what the
 * archive keeps and exports.
 */
export function parseMessageJson(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(escapeControlCharacters(text));
  } catch (err) {
    throw new ValidationError('MESSAGE_BAD_JSON', `decrypted message is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('MESSAGE_BAD_JSON', 'decrypted message is not a JSON object');
  }
  return value as Record<string, unknown>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
/** Column sizes (schema 0001); the raw message keeps the full values. */

function timeOf(v: unknown): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** The conversation a message belongs to: its group, or the unordered pair of a 1:1 chat. */
export function conversationKeyOf(roomid: string, from: string, tolist: readonly string[]): string {
  if (roomid) return `room:${roomid}`;
  const other = tolist[0] ?? '';
  return from <= other ? `pair:${from}|${other}` : `pair:${other}|${from}`;
}

/** The msgtypes the archive gives a message that names none: a recall, and anything else. */
export const ARCHIVE_MSGTYPES = Object.freeze({ recall: 'recall', unknown: 'unknown' } as const);

/**
 * Reads the normalized columns of a decrypted message. `msgid` is the envelope's (the key the
 * archive was given); a message whose own msgid differs is still stored under the envelope's.
 */
export function normalizeMessage(message: Record<string, unknown>, envelopeMsgid: string): NormalizedMessage {
  const action = clip(str(message.action) || 'send', 16);
  let msgtype = clip(str(message.msgtype), 64);
  let fromId = str(message.from);
  let msgtime = timeOf(message.msgtime);
  // A switch record is not a real message: {"msgid","action":"switch","time","user"}.
  if (action === 'switch') {
    msgtype = msgtype || 'switch';
    fromId = fromId || str(message.user);
    msgtime = msgtime || timeOf(message.time);
  }
  if (!msgtype) msgtype = action === 'recall' ? ARCHIVE_MSGTYPES.recall : ARCHIVE_MSGTYPES.unknown;
  const tolist = Array.isArray(message.tolist) ? message.tolist.filter((t): t is string => typeof t === 'string') : [];
  const roomid = clip(str(message.roomid), 191);
  fromId = clip(fromId, 191);
  const revoke = message.revoke as Record<string, unknown> | undefined;
  const preMsgid = msgtype === 'revoke' && revoke && typeof revoke === 'object' ? str(revoke.pre_msgid) : '';
  return {
    msgid: envelopeMsgid,
    action,
    fromId,
    tolist,
    roomid,
    msgtime,
    msgtype,
    conversationKey: clip(conversationKeyOf(roomid, fromId, tolist), 400),
    isExternal: envelopeMsgid.endsWith('_external'),
    isUpdown: envelopeMsgid.endsWith('_updown_stream'),
    knownType: KNOWN_MSGTYPES.has(msgtype),
    preMsgid: preMsgid ? clip(preMsgid, 191) : null,
  };
}

/**
 * The message JSON on one line, for JSONL: control characters inside strings become \u00XX escapes
 * (every character kept) and line breaks between tokens become spaces. Numbers and everything else
 * stay byte for byte as WeCom sent them.
 */
export function jsonOnOneLine(text: string): string {
  const escaped = escapeControlCharacters(text);
  return /[\r\n]/.test(escaped) ? escaped.replace(/[\r\n]/g, ' ') : escaped;
}
