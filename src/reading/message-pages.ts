/**
 * Messages of one conversation a caller may read: pages in time order with cursors both ways, a page
 * centred on a message or a time, the days of a month that have messages, one message with its raw
 * JSON, and a message's context. A conversation out of scope answers exactly as a missing one does.
 */
import { type Kysely, type SqlBool, sql } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';
import { buildMessageViews, type MessageRow, type MessageView, VIEW_COLUMNS } from './message-views.ts';
import { type MessageCondition, newerThan, olderThan } from './message-order.ts';
import { decodeMessageCursor, encodeMessageCursor, type MessageCursor } from './read-cursor.ts';
import { checkId, pageLimit } from './read-params.ts';
import { conversationScope } from '../access/scope-sql.ts';

export interface MessagePageOptions {
  /** messages older than this cursor (a page's `before`) */
  before?: string;
  /** messages newer than this cursor (a page's `after`) */
  after?: string;
  /** a page centred on this message of the conversation */
  around?: string;
  /** a page centred on this time (ms): the first message at or after it, and those before */
  at?: number;
  limit?: number;
}

export interface MessagePage {
  conversation: string;
  /** in time order (msgtime, then seq) */
  messages: MessageView[];
  /** the cursor for older messages; null when there are none */
  before: string | null;
  /** the cursor for newer messages; null when there are none */
  after: string | null;
}

/** The archive's calendar is UTC+8 (China Standard Time, no daylight saving) unless told otherwise. */
export const DEFAULT_UTC_OFFSET_MINUTES = 480;
const DAY_MS = 24 * 3600_000;
const MAX_CONTEXT = 100;

const notFound = () => new NotFoundError('CONVERSATION_NOT_FOUND', 'no such conversation');
const noMessage = () => new NotFoundError('MESSAGE_NOT_FOUND', 'no such message');

/** The conversation's key when it exists in `corpid` and `scope` holds it; else NotFound (the same answer for both). */
export async function visibleConversation(db: Kysely<Database>, scope: ReadScope, corpid: string, conversation: string): Promise<string> {
  checkId(corpid, 'corpid', 64);
  checkId(conversation, 'conversation', 400);
  const row = await db
    .selectFrom('conversations as c')
    .select('c.conversation_key')
    .where('c.corpid', '=', corpid)
    .where('c.conversation_key', '=', conversation)
    .where(await conversationScope(db, scope, corpid))
    .executeTakeFirst();
  if (!row) throw notFound();
  return row.conversation_key;
}

const cursorOf = (r: MessageRow): MessageCursor => ({ time: Number(r.msgtime), seq: r.seq });

/** A page of the conversation; see MessagePageOptions (at most one of before/after/around/at). */
export async function conversationMessages(
  db: Kysely<Database>,
  _dialect: StoreDialect,
  scope: ReadScope,
  corpid: string,
  conversation: string,
  options: MessagePageOptions = {},
): Promise<MessagePage> {
  const limit = pageLimit(options.limit);
  const given = (['before', 'after', 'around', 'at'] as const).filter((k) => options[k] !== undefined);
  if (given.length > 1) throw new ValidationError('READ_PARAMS_INVALID', `give at most one of before, after, around and at (got ${given.join(', ')})`);
  const before = options.before !== undefined ? decodeMessageCursor(options.before, 'before') : undefined;
  const after = options.after !== undefined ? decodeMessageCursor(options.after, 'after') : undefined;
  if (options.around !== undefined) checkId(options.around, 'around', 191);
  if (options.at !== undefined && (!Number.isSafeInteger(options.at) || options.at < 0))
    throw new ValidationError('READ_PARAMS_INVALID', 'at must be a time in milliseconds since the epoch');
  const key = await visibleConversation(db, scope, corpid, conversation);

  if (options.around !== undefined) {
    const anchor = await db
      .selectFrom('messages')
      .select(['msgtime', 'seq'])
      .where('corpid', '=', corpid)
      .where('msgid', '=', options.around)
      .where('conversation_key', '=', key)
      .executeTakeFirst();
    if (!anchor) throw noMessage();
    return centredPage(db, corpid, key, { time: Number(anchor.msgtime), seq: anchor.seq }, limit);
  }
  if (options.at !== undefined) return centredPage(db, corpid, key, { time: options.at, seq: '' }, limit);
  if (after) {
    const rows = await messagesOf(db, corpid, key)
      .where(newerThan(after, false))
      .orderBy('msgtime')
      .orderBy('seq')
      .limit(limit + 1)
      .execute();
    return finish(db, corpid, key, rows.slice(0, limit), { older: null, newer: rows.length > limit });
  }
  let query = messagesOf(db, corpid, key);
  if (before) query = query.where(olderThan(before));
  const rows = await query
    .orderBy('msgtime', 'desc')
    .orderBy('seq', 'desc')
    .limit(limit + 1)
    .execute();
  // without a cursor: the newest page, as a chat opens at its end
  return finish(db, corpid, key, rows.slice(0, limit).reverse(), { older: rows.length > limit, newer: before ? null : false });
}

function messagesOf(db: Kysely<Database>, corpid: string, key: string) {
  return db
    .selectFrom('messages')
    .select([...VIEW_COLUMNS])
    .where('corpid', '=', corpid)
    .where('conversation_key', '=', key);
}

/** Half a page before `anchor`, the rest from it on (`anchor` itself first when it is a message). */
async function centredPage(db: Kysely<Database>, corpid: string, key: string, anchor: MessageCursor, limit: number): Promise<MessagePage> {
  const olderWanted = Math.floor((limit - 1) / 2);
  const older = await messagesOf(db, corpid, key)
    .where(olderThan(anchor))
    .orderBy('msgtime', 'desc')
    .orderBy('seq', 'desc')
    .limit(olderWanted + 1)
    .execute();
  const olderKept = older.slice(0, olderWanted).reverse();
  const newerWanted = limit - olderKept.length;
  const newer = await messagesOf(db, corpid, key)
    .where(newerThan(anchor, true))
    .orderBy('msgtime')
    .orderBy('seq')
    .limit(newerWanted + 1)
    .execute();
  return finish(db, corpid, key, [...olderKept, ...newer.slice(0, newerWanted)], { older: older.length > olderWanted, newer: newer.length > newerWanted });
}

/**
 * The page with its cursors. `older`/`newer` say whether messages lie beyond the page's ends; null
 * where the query did not tell, which one probe of the index then answers.
 */
async function finish(db: Kysely<Database>, corpid: string, key: string, rows: MessageRow[], more: { older: boolean | null; newer: boolean | null }): Promise<MessagePage> {
  if (rows.length === 0) return { conversation: key, messages: [], before: null, after: null };
  const first = cursorOf(rows[0]!);
  const last = cursorOf(rows[rows.length - 1]!);
  const probe = async (condition: MessageCondition) =>
    (await db.selectFrom('messages').select('msgid').where('corpid', '=', corpid).where('conversation_key', '=', key).where(condition).limit(1).execute()).length > 0;
  const older = more.older ?? (await probe(olderThan(first)));
  const newer = more.newer ?? (await probe(newerThan(last, false)));
  return {
    conversation: key,
    messages: await buildMessageViews(db, corpid, key, rows),
    before: older ? encodeMessageCursor(first) : null,
    after: newer ? encodeMessageCursor(last) : null,
  };
}

export interface ConversationDays {
  month: string;
  /** the calendar's offset from UTC */
  utcOffsetMinutes: number;
  /** the days of the month with at least one message, as YYYY-MM-DD */
  days: string[];
}

/**
 * The days of `month` (YYYY-MM) on which the conversation has messages, in the archive's calendar
 * (UTC+8 by default: WeCom is used in China; `utcOffsetMinutes` for other sites). One query, one
 * index probe per day, the same SQL on every dialect.
 */
export async function conversationDays(
  db: Kysely<Database>,
  _dialect: StoreDialect,
  scope: ReadScope,
  corpid: string,
  conversation: string,
  month: string,
  utcOffsetMinutes = DEFAULT_UTC_OFFSET_MINUTES,
): Promise<ConversationDays> {
  const m = typeof month === 'string' ? /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month) : null;
  if (!m) throw new ValidationError('READ_PARAMS_INVALID', 'month must be YYYY-MM');
  if (!Number.isSafeInteger(utcOffsetMinutes) || utcOffsetMinutes < -720 || utcOffsetMinutes > 840)
    throw new ValidationError('READ_PARAMS_INVALID', 'the UTC offset must be whole minutes from -720 to 840');
  const key = await visibleConversation(db, scope, corpid, conversation);
  const year = Number(m[1]);
  const monthIndex = Number(m[2]) - 1;
  const dayCount = new Date(Date.UTC(year, monthIndex + 1, 0)).getUTCDate();
  const startOf = (day: number) => Date.UTC(year, monthIndex, day) - utcOffsetMinutes * 60_000;
  const row = await db
    .selectNoFrom((eb) =>
      Array.from({ length: dayCount }, (_, i) =>
        eb
          .exists(
            db
              .selectFrom('messages')
              .select('msgid')
              .where('corpid', '=', corpid)
              .where('conversation_key', '=', key)
              .where('msgtime', '>=', startOf(i + 1))
              .where('msgtime', '<', startOf(i + 1) + DAY_MS),
          )
          .as(`d${i + 1}`),
      ),
    )
    .executeTakeFirstOrThrow();
  const values = row as Record<string, unknown>;
  const days: string[] = [];
  for (let d = 1; d <= dayCount; d++) {
    const v = values[`d${d}`];
    if (v === true || v === 1 || v === '1' || v === 't') days.push(`${month}-${String(d).padStart(2, '0')}`);
  }
  return { month, utcOffsetMinutes, days };
}

export interface MessageWithRaw {
  message: MessageView;
  /** the decrypted JSON as WeCom sent it (invalid UTF-8 shown as U+FFFD) */
  raw: string;
}

/** The message's row when its conversation is in scope; the same NotFound whether it is missing or out of scope. */
async function visibleMessage(db: Kysely<Database>, scope: ReadScope, corpid: string, msgid: string): Promise<MessageRow> {
  checkId(corpid, 'corpid', 64);
  checkId(msgid, 'msgid', 191);
  const row = await db
    .selectFrom('messages')
    .select([...VIEW_COLUMNS])
    .where('corpid', '=', corpid)
    .where('msgid', '=', msgid)
    .where(
      sql<SqlBool>`EXISTS (SELECT 1 FROM conversations c WHERE c.corpid = messages.corpid AND c.conversation_key = messages.conversation_key AND ${await conversationScope(db, scope, corpid)})`,
    )
    .executeTakeFirst();
  if (!row) throw noMessage();
  return row;
}

/** One message with its raw JSON. */
export async function messageById(db: Kysely<Database>, _dialect: StoreDialect, scope: ReadScope, corpid: string, msgid: string): Promise<MessageWithRaw> {
  const row = await visibleMessage(db, scope, corpid, msgid);
  const [message] = await buildMessageViews(db, corpid, row.conversation_key, [row]);
  return { message: message!, raw: Buffer.from(row.raw).toString('utf8') };
}

/** The message and up to `n` messages on each side of it, in its conversation (a page centred on it). */
export async function messageContext(db: Kysely<Database>, _dialect: StoreDialect, scope: ReadScope, corpid: string, msgid: string, n = 20): Promise<MessagePage> {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_CONTEXT) throw new ValidationError('READ_LIMIT_INVALID', `n must be an integer from 0 to ${MAX_CONTEXT}`);
  const row = await visibleMessage(db, scope, corpid, msgid);
  return centredPage(db, corpid, row.conversation_key, cursorOf(row), 2 * n + 1);
}
