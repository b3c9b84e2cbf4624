/**
 * Opaque page cursors. A cursor is the sort key of the row a page ended on, tagged with the list it
 * belongs to, as base64url JSON: opaque to clients, and checked field by field when it comes back,
 * since it is user input like any other (a forged cursor can only move within what the scope allows,
 * as the scope is applied to every page).
 */
import { ValidationError } from '../errors/errors.ts';
import { readCursor, writeCursor } from '../runtime/opaque-cursor.ts';

/** Where a conversation list page ends: the conversation's last activity and key. */
export interface ConversationCursor {
  readonly time: number;
  readonly key: string;
}

/** Where a message page ends: the message's time and (encoded, 20-digit) seq. */
export interface MessageCursor {
  readonly time: number;
  readonly seq: string;
}

function encode(tag: string, value: readonly unknown[]): string {
  return writeCursor([tag, ...value]);
}

function decode(cursor: string, tag: string, what: string): unknown[] {
  const invalid = () => new ValidationError('READ_CURSOR_INVALID', `the ${what} cursor is not one a page of this list gave; start again without it`);
  const value = readCursor(cursor);
  if (!Array.isArray(value) || value[0] !== tag) throw invalid();
  return value.slice(1);
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function encodeConversationCursor(c: ConversationCursor): string {
  return encode('c1', [c.time, c.key]);
}

export function decodeConversationCursor(cursor: string, what = 'before'): ConversationCursor {
  const [time, key, ...rest] = decode(cursor, 'c1', what);
  if (!isTime(time) || typeof key !== 'string' || key.length === 0 || key.length > 400 || rest.length > 0) {
    throw new ValidationError('READ_CURSOR_INVALID', `the ${what} cursor is not one a page of this list gave; start again without it`);
  }
  return { time, key };
}

export function encodeMessageCursor(c: MessageCursor): string {
  return encode('m1', [c.time, c.seq]);
}

export function decodeMessageCursor(cursor: string, what: string): MessageCursor {
  const [time, seq, ...rest] = decode(cursor, 'm1', what);
  if (!isTime(time) || typeof seq !== 'string' || !/^\d{20}$/.test(seq) || rest.length > 0) {
    throw new ValidationError('READ_CURSOR_INVALID', `the ${what} cursor is not one a page of this list gave; start again without it`);
  }
  return { time, seq };
}

/** Where a gallery page ends: the item's message time, (encoded) seq and media slot, and the tab it belongs to. */
export interface GalleryCursor {
  readonly kind: string;
  readonly time: number;
  readonly seq: string;
  readonly slot: number;
}

export function encodeGalleryCursor(c: GalleryCursor): string {
  return encode('g1', [c.kind, c.time, c.seq, c.slot]);
}

export function decodeGalleryCursor(cursor: string, kind: string): GalleryCursor {
  const [k, time, seq, slot, ...rest] = decode(cursor, 'g1', 'before');
  // a cursor of another tab would skip items of this one
  if (k !== kind || !isTime(time) || typeof seq !== 'string' || !/^\d{20}$/.test(seq) || typeof slot !== 'number' || !Number.isSafeInteger(slot) || slot < 0 || rest.length > 0) {
    throw new ValidationError('READ_CURSOR_INVALID', 'the before cursor is not one a page of this list gave; start again without it');
  }
  return { kind, time, seq, slot };
}
