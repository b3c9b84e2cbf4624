/**
 * What of a message is searchable: every text a person reads in it, as separate fields. A search
 * term matches inside one field, never across two, so each title, description, vote option and
 * record item is a field of its own. Names and ids (sender, recipients, doc creator, attendees,
 * user ids, URLs, md5 sums) are not searchable text.
 *
 * The message is hostile input: a wrong type, a missing member, a huge or deeply nested value
 * yields no field (or a shortened one), never an exception.
 */
import { parseMessageJson } from '../messages/normalize-message.ts';

export interface SearchField {
  /** where the text was found, e.g. `link.title`, `chatrecord.item.text.content` */
  readonly source: string;
  readonly text: string;
}

/** Bounds on what one message contributes, whatever its size. */
export const SEARCH_TEXT_LIMITS = Object.freeze({
  /** UTF-16 code units kept of one field */
  fieldChars: 100_000,
  /** UTF-16 code units kept of all fields of one message */
  totalChars: 1_000_000,
  fields: 2_000,
  /** chat records inside chat records, beyond the outermost one */
  nesting: 4,
  /** length of an item's JSON `content` string that is still parsed */
  itemJsonChars: 1_000_000,
});

type Body = Readonly<Record<string, unknown>>;

function isBody(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function member(body: Body, key: string): unknown {
  return Object.hasOwn(body, key) ? body[key] : undefined;
}

function listOf(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** `text` cut to at most `max` UTF-16 code units, never between the halves of a surrogate pair. */
function cutAtCodePoint(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Gathers fields within SEARCH_TEXT_LIMITS. */
class FieldCollector {
  readonly fields: SearchField[] = [];
  private chars = 0;

  get full(): boolean {
    return this.fields.length >= SEARCH_TEXT_LIMITS.fields || this.chars >= SEARCH_TEXT_LIMITS.totalChars;
  }

  add(source: string, value: unknown): void {
    if (typeof value !== 'string' || this.full || value.trim() === '') return;
    const text = cutAtCodePoint(value, Math.min(SEARCH_TEXT_LIMITS.fieldChars, SEARCH_TEXT_LIMITS.totalChars - this.chars));
    this.fields.push({ source, text });
    this.chars += text.length;
  }

  /** Each string member named in `keys`, as a field of its own. */
  addMembers(prefix: string, body: Body, keys: readonly string[]): void {
    for (const key of keys) this.add(`${prefix}.${key}`, member(body, key));
  }
}

interface Reader {
  readonly out: FieldCollector;
  /** how many chat records this body is nested in */
  readonly depth: number;
}

type BodyExtractor = (body: Body, prefix: string, reader: Reader) => void;

/**
 * A quote/reply, as WeCom writes it into a text message:
 *   这是一条引用/回复消息：\n"USER：\nQUOTE"\n------\nCONTENT   (or the English "This is a quote/reply:")
 *   「USER：QUOTE」\n- - - - - - - - - - - - - - -\nCONTENT       (from WeChat)
 * The prefix and the quoted person's name are not text anyone wrote; the quote and the reply are.
 * A name holds no colon: with one way to read the name, matching stays linear in the text's length.
 */
const QUOTE_FORMS: readonly RegExp[] = [
  /^(?:这是一条引用\/回复消息[：:]|This is a quote\/reply:)\n["“](?<user>[^\n：:]+)[：:]\s?\n(?<quote>[\s\S]*?)["”]\n-{6}\n(?<content>[\s\S]*)$/,
  /^「(?<user>[^\n：:]+)[：:]\n?(?<quote>[\s\S]*?)」\n-(?: -){14}\n(?<content>[\s\S]*)$/,
];

function addTextContent(out: FieldCollector, prefix: string, content: unknown): void {
  if (typeof content !== 'string') return;
  for (const form of QUOTE_FORMS) {
    const parts = form.exec(content)?.groups;
    if (parts) {
      out.add(`${prefix}.quote`, parts.quote);
      out.add(`${prefix}.content`, parts.content);
      return;
    }
  }
  out.add(`${prefix}.content`, content);
}

function membersOf(...keys: string[]): BodyExtractor {
  return (body, prefix, { out }) => out.addMembers(prefix, body, keys);
}

function eachOf(listKey: string, extract: BodyExtractor): BodyExtractor {
  return (body, prefix, reader) => {
    for (const entry of listOf(member(body, listKey))) {
      if (reader.out.full) return;
      if (isBody(entry)) extract(entry, `${prefix}.${listKey}`, reader);
    }
  };
}

function both(...extractors: BodyExtractor[]): BodyExtractor {
  return (body, prefix, reader) => {
    for (const extract of extractors) extract(body, prefix, reader);
  };
}

const stringsOf =
  (key: string): BodyExtractor =>
  (body, prefix, { out }) => {
    for (const value of listOf(member(body, key))) out.add(`${prefix}.${key}`, value);
  };

/** The record's items (chatrecord, mixed): each item's `content` is the JSON of a message body. */
const recordItems: BodyExtractor = (body, prefix, reader) => {
  for (const item of listOf(member(body, 'item'))) {
    if (reader.out.full) return;
    if (isBody(item)) readItem(item, `${prefix}.item`, reader);
  }
};

/** A record item's own body, parsed from its `content` string. */
function itemBody(item: Body): Body | undefined {
  const content = member(item, 'content');
  if (isBody(content)) return content;
  if (typeof content !== 'string' || content.length > SEARCH_TEXT_LIMITS.itemJsonChars) return undefined;
  try {
    const parsed: unknown = JSON.parse(content);
    return isBody(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** ChatRecordText → text, ChatRecordMixed → mixed, text → text, … */
function itemType(item: Body): string {
  const type = member(item, 'type');
  return typeof type === 'string' ? type.replace(/^chatrecord(?=.)/i, '').toLowerCase() : '';
}

/** Item types no extractor knows: their usual text members. */
const unknownItem = membersOf('title', 'content', 'description', 'filename');

function readItem(item: Body, prefix: string, reader: Reader): void {
  const body = itemBody(item);
  if (!body) return;
  const type = itemType(item);
  const rule = Object.hasOwn(BODY_RULES, type) ? BODY_RULES[type] : undefined;
  const nested = type === 'chatrecord' || type === 'mixed';
  if (nested && reader.depth >= SEARCH_TEXT_LIMITS.nesting) return;
  const extract = rule?.extract ?? unknownItem;
  extract(body, `${prefix}.${type || 'unknown'}`, nested ? { out: reader.out, depth: reader.depth + 1 } : reader);
}

interface BodyRule {
  /** the members the body may be under, first found wins (WeCom's format examples and real data differ) */
  readonly keys: readonly string[];
  readonly extract: BodyExtractor;
}

const redpacket: BodyRule = { keys: ['redpacket', 'external_redpacket'], extract: membersOf('wish') };

/** For each msgtype with readable text: where its body is and what of it to read. */
const BODY_RULES: Readonly<Record<string, BodyRule>> = {
  text: { keys: ['text'], extract: (body, prefix, { out }) => addTextContent(out, prefix, member(body, 'content')) },
  markdown: { keys: ['info', 'markdown'], extract: membersOf('content') },
  file: { keys: ['file'], extract: membersOf('filename') },
  voip_doc_share: { keys: ['voip_doc_share'], extract: membersOf('filename') },
  qydiskfile: { keys: ['info', 'qydiskfile'], extract: membersOf('filename') },
  link: { keys: ['link'], extract: membersOf('title', 'description') },
  weapp: { keys: ['weapp', 'link'], extract: membersOf('title', 'description', 'displayname') },
  card: { keys: ['card'], extract: membersOf('corpname') },
  location: { keys: ['location'], extract: membersOf('title', 'address') },
  news: { keys: ['info', 'news'], extract: eachOf('item', membersOf('title', 'description')) },
  todo: { keys: ['todo'], extract: membersOf('title', 'content') },
  vote: { keys: ['vote'], extract: both(membersOf('votetitle'), stringsOf('voteitem')) },
  collect: { keys: ['collect'], extract: both(membersOf('title'), eachOf('details', membersOf('ques'))) },
  calendar: { keys: ['calendar'], extract: membersOf('title', 'place', 'remarks') },
  meeting: { keys: ['meeting'], extract: membersOf('topic', 'address', 'remarks') },
  meeting_notification: { keys: ['info'], extract: membersOf('content') },
  docmsg: { keys: ['doc', 'docmsg'], extract: membersOf('title') },
  sphfeed: { keys: ['sphfeed'], extract: membersOf('sph_name', 'feed_desc') },
  redpacket,
  external_redpacket: redpacket,
  meeting_voice_call: { keys: ['meeting_voice_call'], extract: eachOf('demofiledata', membersOf('filename')) },
  chatrecord: { keys: ['chatrecord'], extract: both(membersOf('title'), recordItems) },
  mixed: { keys: ['mixed'], extract: recordItems },
};

/**
 * The searchable fields of a decrypted message (the parsed JSON object), in reading order. Unknown
 * message types and types without text (image, voice, revoke, …) have none.
 */
export function searchableText(message: unknown): SearchField[] {
  if (!isBody(message)) return [];
  const type = member(message, 'msgtype');
  if (typeof type !== 'string' || !Object.hasOwn(BODY_RULES, type)) return [];
  const rule = BODY_RULES[type]!;
  const key = rule.keys.find((k) => isBody(member(message, k)));
  const out = new FieldCollector();
  if (key !== undefined) rule.extract(member(message, key) as Body, key, { out, depth: 0 });
  return out.fields;
}

/** The searchable fields of a message as stored (`messages.raw`); none when it is not a JSON object. */
export function searchableTextOfRaw(raw: string | Uint8Array): SearchField[] {
  const text = typeof raw === 'string' ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('utf8');
  try {
    return searchableText(parseMessageJson(text));
  } catch {
    return [];
  }
}
