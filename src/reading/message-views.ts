/**
 * Messages as the reader renders them: each view carries its sender's name, its media with their
 * states, its recall links and its quote target, so a page needs no further query. A page costs a
 * fixed number of queries (names, media, recalls, quote candidates), whatever its length.
 */
import type { ExpressionBuilder, Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { decodeSeq } from '../store/seq-codec.ts';
import { type PersonRef, personNames, personRef } from './directory-names.ts';
import { olderThan } from './message-order.ts';
import { contentOf, parseStoredMessage, previewOf, type QuoteParts, quoteOf, shorten, textOf } from './message-content.ts';

/** One media file of a message and where its download stands. */
export interface MediaView {
  /** the reference's position in its message (0, 1, … for mixed and chatrecord items) */
  slot: number;
  /** where in the message, e.g. `image`, `mixed.item[2]` */
  path: string;
  /** image | voice | video | file | emotion | meeting_voice_call | voip_doc_share */
  kind: string;
  /** pending | downloading | done | unverified | failed | expired */
  state: string;
  /** the content address, once downloaded */
  sha256: string | null;
  size: number | null;
  fileName: string | null;
  /** sniffed from the bytes */
  contentType: string | null;
  /** a browser-playable MP3 copy of a voice recording exists */
  mp3: boolean;
  /** why a download failed or expired, when it did */
  error: string | null;
}

/** A reply's quote, and the archived message it quotes when one matches. */
export interface QuoteView extends QuoteParts {
  target: { msgid: string; preview: string } | null;
}

export interface MessageView {
  msgid: string;
  /** decimal, unpadded */
  seq: string;
  msgtime: number;
  msgtype: string;
  /** send | recall | switch */
  action: string;
  conversation: string;
  from: PersonRef;
  /** the type's content object as parsed (integers beyond 2^53 as strings); null when unreadable */
  content: Record<string, unknown> | null;
  /** a short one-line text of it (see previewOf) */
  preview: string | null;
  media: MediaView[];
  /** a revoke message: the message it recalled */
  revokes: string | null;
  /** a recalled message: the revoke message that recalled it */
  revokedBy: string | null;
  quote: QuoteView | null;
  knownType: boolean;
  isExternal: boolean;
}

/** The columns a view is built from. */
export const VIEW_COLUMNS = ['msgid', 'seq', 'action', 'from_id', 'msgtime', 'msgtype', 'conversation_key', 'is_external', 'known_type', 'pre_msgid', 'raw'] as const;

export interface MessageRow {
  msgid: string;
  seq: string;
  action: string;
  from_id: string;
  msgtime: number | string;
  msgtype: string;
  conversation_key: string;
  is_external: number | string;
  known_type: number | string;
  pre_msgid: string | null;
  raw: Buffer | Uint8Array;
}

/** How far back a quote's target is looked for, and how many earlier texts at most. */
const QUOTE_WINDOW_MS = 7 * 24 * 3600_000;
const QUOTE_CANDIDATES = 1000;
/**
 * Texts read first beyond those of the page up to its newest reply: a reply nearly always quotes a
 * message a few lines up, so more candidates are read (twice as many each time) only when a reply's
 * target is not among these. Each candidate read is a row of the table, often one the page did not
 * read (SQLite, a page in the middle of a 100,000-message group, cold cache: a first read of 100
 * was 130 to 160 of the page's 200 reads from the database file; bench:api).
 */
const QUOTE_LINES_ABOVE = 10;

/**
 * Views of `rows`, all of one conversation of `corpid` the caller has already found in scope: the
 * recall and quote links are looked up in that conversation only, so they never reach outside it.
 */
export async function buildMessageViews(db: Kysely<Database>, corpid: string, conversationKey: string, rows: readonly MessageRow[]): Promise<MessageView[]> {
  if (rows.length === 0) return [];
  const msgids = rows.map((r) => r.msgid);
  const parsed = rows.map((r) => parseStoredMessage(r.raw));
  const contents = rows.map((r, i) => contentOf(parsed[i]!, r.msgtype));
  const quotes = rows.map((r, i) => {
    const text = textOf(contents[i]!, r.msgtype);
    return text === null ? null : quoteOf(text);
  });

  // one after another: on PostgreSQL, concurrent queries of one request cost more than they save
  const names = await personNames(
    db,
    corpid,
    rows.map((r) => r.from_id),
  );
  const media = await mediaOf(db, corpid, msgids);
  // by the recalled ids alone, kept to this conversation and put in time order here: with the
  // conversation or the order in the SQL, SQLite (no statistics) read the whole conversation or the
  // corp's time index instead of the few recalls (bench:api: seconds on a 100,000-message conversation)
  const recalls = (
    await db.selectFrom('messages').select(['msgid', 'pre_msgid', 'conversation_key', 'msgtime']).where('corpid', '=', corpid).where('pre_msgid', 'in', msgids).execute()
  )
    .filter((r) => r.conversation_key === conversationKey)
    .sort((a, b) => Number(a.msgtime) - Number(b.msgtime) || (a.msgid < b.msgid ? -1 : a.msgid > b.msgid ? 1 : 0));
  const targets = await quoteTargets(db, corpid, conversationKey, rows, quotes);
  const revokedBy = new Map<string, string>();
  for (const r of recalls) if (r.pre_msgid !== null && !revokedBy.has(r.pre_msgid)) revokedBy.set(r.pre_msgid, r.msgid);

  return rows.map((r, i) => ({
    msgid: r.msgid,
    seq: decodeSeq(r.seq).toString(),
    msgtime: Number(r.msgtime),
    msgtype: r.msgtype,
    action: r.action,
    conversation: r.conversation_key,
    from: personRef(r.from_id, names),
    content: contents[i]!,
    preview: previewOf(contents[i]!, r.msgtype),
    media: media.get(r.msgid) ?? [],
    revokes: r.msgtype === 'revoke' ? r.pre_msgid : null,
    revokedBy: revokedBy.get(r.msgid) ?? null,
    quote: quotes[i] ? { ...quotes[i]!, target: targets.get(r.msgid) ?? null } : null,
    knownType: Number(r.known_type) === 1,
    isExternal: Number(r.is_external) === 1,
  }));
}

async function mediaOf(db: Kysely<Database>, corpid: string, msgids: readonly string[]): Promise<Map<string, MediaView[]>> {
  const rows = await db
    .selectFrom('media')
    .select(['msgid', ...MEDIA_VIEW_COLUMNS])
    .where('corpid', '=', corpid)
    .where('msgid', 'in', msgids)
    .orderBy('msgid')
    .orderBy('slot')
    .execute();
  const byMessage = new Map<string, MediaView[]>();
  for (const m of rows) {
    const list = byMessage.get(m.msgid) ?? [];
    list.push(mediaViewOf(m));
    byMessage.set(m.msgid, list);
  }
  return byMessage;
}

/** The media columns a view is built from. */
export const MEDIA_VIEW_COLUMNS = [
  'slot',
  'path',
  'kind',
  'state',
  'sha256',
  'size',
  'size_expected',
  'file_name',
  'content_type',
  'converted_key',
  'converted_type',
  'error',
] as const;

export interface MediaViewRow {
  slot: number | string;
  path: string;
  kind: string;
  state: string;
  sha256: string | null;
  size: number | string | null;
  size_expected: number | string | null;
  file_name: string | null;
  content_type: string | null;
  converted_key: string | null;
  converted_type: string | null;
  error: string | null;
}

/** One media row as a reader sees it: the stored size once downloaded, else the size WeCom announced. */
export function mediaViewOf(m: MediaViewRow): MediaView {
  return {
    slot: Number(m.slot),
    path: m.path,
    kind: m.kind,
    state: m.state,
    sha256: m.sha256,
    size: m.size !== null ? Number(m.size) : m.size_expected !== null ? Number(m.size_expected) : null,
    fileName: m.file_name,
    contentType: m.content_type,
    mp3: m.converted_key !== null && m.converted_type === 'audio/mpeg',
    error: m.state === 'failed' || m.state === 'expired' ? m.error : null,
  };
}

/** `a` comes after `b` in the conversation's time order (msgtime, then seq). */
const isLater = (a: MessageRow, b: MessageRow) => Number(a.msgtime) > Number(b.msgtime) || (Number(a.msgtime) === Number(b.msgtime) && a.seq > b.seq);

/** Text the way quotes repeat it: whitespace runs as one space, trimmed. */
const normalized = (text: string) => text.replace(/\s+/g, ' ').trim();

/** An earlier text a reply may quote; its words are parsed from `raw` when first compared. */
interface QuoteCandidate {
  msgid: string;
  seq: string;
  msgtime: number;
  msgtype: string;
  raw: Buffer | Uint8Array;
  said?: { text: string; preview: string };
}

function saidBy(c: QuoteCandidate): { text: string; preview: string } {
  if (!c.said) {
    const text = textOf(contentOf(parseStoredMessage(c.raw), c.msgtype), c.msgtype) ?? '';
    const own = quoteOf(text)?.content ?? text;
    c.said = { text: normalized(own), preview: shorten(own) };
  }
  return c.said;
}

/**
 * The messages the replies in `rows` quote. A reply names no msgid, only the quoted sender's name
 * and text, so the target is the newest earlier text of the conversation that says the quoted text
 * (a reply quoted in turn says its own part), within a week before the reply and among the
 * QUOTE_CANDIDATES newest texts of that window. Candidates are read newest first in steps (the
 * page's own texts and QUOTE_LINES_ABOVE more, then twice as many each time a reply is still
 * unmatched), and each is parsed only when compared: a page reads and parses no more messages than
 * it takes to match a reply to the message just above it.
 */
async function quoteTargets(
  db: Kysely<Database>,
  corpid: string,
  conversationKey: string,
  rows: readonly MessageRow[],
  quotes: ReadonlyArray<QuoteParts | null>,
): Promise<Map<string, { msgid: string; preview: string }>> {
  const found = new Map<string, { msgid: string; preview: string }>();
  const replies = rows
    .map((r, i) => ({ row: r, quote: quotes[i] ?? null }))
    .filter((x): x is { row: MessageRow; quote: QuoteParts } => x.quote !== null && x.quote.quote.trim() !== '');
  if (replies.length === 0) return found;
  const times = replies.map((x) => Number(x.row.msgtime));
  // the candidates are read newest first from the newest reply on: the page's texts up to it come first
  const newest = replies.reduce((a, x) => (isLater(x.row, a) ? x.row : a), replies[0]!.row);
  const textsUpToNewest = rows.filter((r) => (r.msgtype === 'text' || r.msgtype === 'markdown') && !isLater(r, newest)).length;
  const candidates: QuoteCandidate[] = [];
  let complete = false;
  let nextRead = textsUpToNewest + QUOTE_LINES_ABOVE;
  const windowStart = Math.min(...times) - QUOTE_WINDOW_MS;
  const texts = () =>
    db
      .selectFrom('messages')
      .select(['msgid', 'seq', 'msgtime', 'msgtype', 'raw'])
      .where('corpid', '=', corpid)
      .where('conversation_key', '=', conversationKey)
      .where('msgtype', 'in', ['text', 'markdown']);
  const newestFirst = (a: QuoteCandidate, b: QuoteCandidate) => b.msgtime - a.msgtime || (a.seq < b.seq ? 1 : a.seq > b.seq ? -1 : 0);
  const readMore = async (): Promise<void> => {
    const wanted = Math.min(nextRead, QUOTE_CANDIDATES - candidates.length);
    nextRead *= 2;
    const last = candidates[candidates.length - 1];
    const after = last ? olderThan({ time: last.msgtime, seq: last.seq }) : (eb: ExpressionBuilder<Database, 'messages'>) => eb('msgtime', '<=', Math.max(...times));
    // Bounded above only, ordered by msgtime alone, the week's start and the order of equal times
    // applied here: so every database reads the conversation's index backwards and stops at the
    // limit. With a range bounded both ways SQLite (no statistics) read the corp's time index, every
    // conversation's messages of those hours (10 rows for each candidate of bench:api's busy group);
    // with seq in the ORDER BY MariaDB read and sorted every earlier message of the conversation.
    let more = (await texts().where(after).orderBy('msgtime', 'desc').limit(wanted).execute()).map((c) => ({ ...c, msgtime: Number(c.msgtime) })).sort(newestFirst);
    // fewer than asked for: every text up to `after` is read
    const exhausted = more.length < wanted;
    if (!exhausted) {
      // the limit may have cut the oldest millisecond read in two: its texts are read again next time,
      // or, when they are the whole read, read alone in seq order
      const oldest = more[more.length - 1]!.msgtime;
      const newer = more.filter((c) => c.msgtime > oldest);
      more =
        newer.length > 0
          ? newer
          : (await texts().where(after).where('msgtime', '=', oldest).orderBy('seq', 'desc').limit(wanted).execute()).map((c) => ({ ...c, msgtime: Number(c.msgtime) }));
    }
    const inWindow = more.filter((c) => c.msgtime >= windowStart);
    candidates.push(...inWindow);
    complete = exhausted || inWindow.length < more.length || candidates.length >= QUOTE_CANDIDATES;
  };
  for (const { row, quote } of replies) {
    const wanted = normalized(quote.quote);
    const time = Number(row.msgtime);
    for (let i = 0; ; i++) {
      if (i === candidates.length) {
        if (complete) break;
        await readMore();
        if (i === candidates.length) break;
      }
      const c = candidates[i]!;
      if (c.msgid !== row.msgid && (c.msgtime < time || (c.msgtime === time && c.seq < row.seq)) && saidBy(c).text === wanted) {
        found.set(row.msgid, { msgid: c.msgid, preview: saidBy(c).preview });
        break;
      }
    }
  }
  return found;
}
