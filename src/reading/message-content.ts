/**
 * What a reader sees of one decrypted message, from its JSON alone: the type's content object, a
 * short preview, and the quote of a reply. Pure functions, so the views and the conversation list
 * read every message alike.
 */
import { parse } from 'lossless-json';
import { escapeControlCharacters } from '../messages/normalize-message.ts';

/** Characters a preview keeps (of text; file names and titles too). */
export const PREVIEW_CHARS = 80;

/**
 * Parses a stored message. Integers beyond 2^53 (meeting ids, file sizes of some clients) come back
 * as decimal strings, so no id is rounded; null when the bytes are not a JSON object (the raw bytes
 * are still shown by messageById).
 */
export function parseStoredMessage(raw: Buffer | Uint8Array): Record<string, unknown> | null {
  try {
    const value = parse(escapeControlCharacters(Buffer.from(raw).toString('utf8')), null, (text: string) => {
      const n = Number(text);
      return Number.isSafeInteger(n) || !/^-?\d+$/.test(text) ? n : text;
    });
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Types whose content object is not under their own name. */
const CONTENT_KEYS: Readonly<Record<string, string>> = { docmsg: 'doc', external_redpacket: 'redpacket', markdown: 'info', news: 'info', qydiskfile: 'info', voiptext: 'info' };

/** The content object of a message's type (`text`, `image`, …, `info` for markdown and news); a switch record's own fields. */
export function contentOf(message: Record<string, unknown> | null, msgtype: string): Record<string, unknown> | null {
  if (!message) return null;
  if (message.action === 'switch') return { user: message.user ?? null, time: message.time ?? null };
  const own = message[msgtype];
  const content = own !== undefined ? own : CONTENT_KEYS[msgtype] !== undefined ? message[CONTENT_KEYS[msgtype]] : undefined;
  return typeof content === 'object' && content !== null && !Array.isArray(content) ? (content as Record<string, unknown>) : null;
}

/** A reply's parts: who and what it quotes, and its own text. */
export interface QuoteParts {
  user: string;
  quote: string;
  content: string;
}

// WeCom clients prefix a reply by language (zh, en); replies forwarded from WeChat use 「…」 and a dashed rule
const QUOTE_WECOM = /^(?:这是一条引用\/回复消息[:：]|This is a quote\/reply:)\n["“](?<user>[^\n]+)[:：]\s?\n(?<quote>.*?)["”]\n-{6}\n(?<content>.*)$/s;
const QUOTE_WECHAT = /^「(?<user>[^\n]+?)[:：]\n?(?<quote>.*?)」\n-( -){14}\n(?<content>.+)$/s;

/** The parts of a quote/reply text, or null for a plain text. */
export function quoteOf(text: string): QuoteParts | null {
  const m = QUOTE_WECOM.exec(text) ?? QUOTE_WECHAT.exec(text);
  if (!m?.groups) return null;
  return { user: m.groups.user!.trim(), quote: m.groups.quote!, content: m.groups.content! };
}

/** The text a message says (a text's or markdown's content), or null. */
export function textOf(content: Record<string, unknown> | null, msgtype: string): string | null {
  if (!content || (msgtype !== 'text' && msgtype !== 'markdown')) return null;
  return typeof content.content === 'string' ? content.content : null;
}

/** Text shortened to `chars` code points, whitespace runs as one space; '…' when cut. */
export function shorten(text: string, chars = PREVIEW_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const points = [...flat];
  return points.length <= chars ? flat : `${points.slice(0, chars).join('')}…`;
}

/** Fields that name what a non-text message is about, by the types that carry them. */
const TITLE_FIELDS = ['title', 'filename', 'topic', 'votetitle', 'feed_desc', 'address'];

/**
 * A one-line preview: a text's words (a reply's own words, not what it quotes), else the title or
 * file name of a card-like message, else null (the reader shows the type's label).
 */
export function previewOf(content: Record<string, unknown> | null, msgtype: string): string | null {
  const text = textOf(content, msgtype);
  if (text !== null) return shorten(quoteOf(text)?.content ?? text);
  if (!content) return null;
  for (const field of TITLE_FIELDS) {
    const value = content[field];
    if (typeof value === 'string' && value.trim() !== '') return shorten(value);
  }
  return null;
}
