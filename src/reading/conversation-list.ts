/**
 * The conversations of a corp a caller may read, newest activity first, from the summary rows the
 * decrypt commit keeps (conversation-summary.ts): a page reads that many rows, never the messages table.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { ValidationError } from '../errors/errors.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';
import { CONVERSATION_KINDS, type ConversationKind } from '../store/vocabulary.ts';
import { isPlausibleId, personKind } from '../directory/id-kinds.ts';
import { containsPattern, groupNames, type PersonRef, personNames, personRef } from './directory-names.ts';
import { contentOf, parseStoredMessage, previewOf } from './message-content.ts';
import { decodeConversationCursor, encodeConversationCursor } from './read-cursor.ts';
import { checkId, pageLimit } from './read-params.ts';
import { conversationScope } from '../access/scope-sql.ts';

export interface ConversationFilters {
  kind?: ConversationKind;
  /** a member's userid that takes part */
  member?: string;
  /** an external contact's id that takes part */
  customer?: string;
  /** part of a participant's or the group's name */
  q?: string;
  /** a cursor from the page before (`next`) */
  before?: string;
  limit?: number;
}

export interface ConversationSummary {
  conversation: string;
  kind: ConversationKind;
  roomid: string | null;
  /** a group's name from the directory */
  name: string | null;
  /** up to PARTICIPANTS_SHOWN participants, with names */
  participants: PersonRef[];
  participantCount: number;
  /** the archiving consent of the external contacts shown in `participants`, as the directory last saw it */
  consent: ConsentView[];
  messageCount: number;
  firstMsgtime: number;
  last: { msgid: string; msgtime: number; msgtype: string; from: PersonRef; preview: string | null };
}

/** One external contact's consent to archiving (WeCom's Default_Agree reads as agree). */
export interface ConsentView {
  id: string;
  status: 'agree' | 'disagree';
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  /** the cursor of the next (older) page; null at the end */
  next: string | null;
}

/** Participants a summary names (a group's others are counted). */
export const PARTICIPANTS_SHOWN = 10;
const MAX_QUERY_CHARS = 64;

/** A page of the conversations of `corpid` within `scope`, by filters; see ConversationFilters. */
export async function listConversations(
  db: Kysely<Database>,
  _dialect: StoreDialect,
  scope: ReadScope,
  corpid: string,
  filters: ConversationFilters = {},
): Promise<ConversationPage> {
  checkId(corpid, 'corpid', 64);
  const limit = pageLimit(filters.limit);
  if (filters.kind !== undefined && !CONVERSATION_KINDS.includes(filters.kind)) {
    throw new ValidationError('READ_PARAMS_INVALID', `kind must be one of ${CONVERSATION_KINDS.join(', ')}`);
  }
  const before = filters.before !== undefined ? decodeConversationCursor(filters.before) : undefined;
  const inScope = await conversationScope(db, scope, corpid);

  let query = db
    .selectFrom('conversations as c')
    .select(['c.conversation_key', 'c.kind', 'c.roomid', 'c.message_count', 'c.first_msgtime', 'c.last_msgtime', 'c.last_msgid'])
    .where('c.corpid', '=', corpid)
    .where(inScope);
  if (filters.kind !== undefined) query = query.where('c.kind', '=', filters.kind);
  for (const id of [filters.member, filters.customer]) {
    if (id === undefined) continue;
    checkId(id, id === filters.member ? 'member' : 'customer', 191);
    query = query.where(
      sql<boolean>`EXISTS (SELECT 1 FROM conversation_participants p WHERE p.corpid = c.corpid AND p.conversation_key = c.conversation_key AND p.userid = ${id})`,
    );
  }
  if (filters.q !== undefined) {
    const q = filters.q.trim();
    if (q.length === 0 || q.length > MAX_QUERY_CHARS || /[\u0000-\u001f]/.test(q)) throw new ValidationError('READ_PARAMS_INVALID', `q must be 1 to ${MAX_QUERY_CHARS} characters`);
    const like = containsPattern(q);
    query = query.where(sql<boolean>`(EXISTS (SELECT 1 FROM conversation_participants p JOIN dir_members m ON m.corpid = p.corpid AND m.userid = p.userid
        WHERE p.corpid = c.corpid AND p.conversation_key = c.conversation_key AND m.name LIKE ${like} ESCAPE '!')
      OR EXISTS (SELECT 1 FROM conversation_participants p JOIN dir_external_contacts e ON e.corpid = p.corpid AND e.external_userid = p.userid
        WHERE p.corpid = c.corpid AND p.conversation_key = c.conversation_key AND e.name LIKE ${like} ESCAPE '!')
      OR EXISTS (SELECT 1 FROM dir_groups g WHERE g.corpid = c.corpid AND g.roomid = c.roomid AND c.roomid <> '' AND g.name LIKE ${like} ESCAPE '!'))`);
  }
  if (before) {
    query = query.where((eb) => eb.or([eb('c.last_msgtime', '<', before.time), eb.and([eb('c.last_msgtime', '=', before.time), eb('c.conversation_key', '<', before.key)])]));
  }
  const rows = await query
    .orderBy('c.last_msgtime', 'desc')
    .orderBy('c.conversation_key', 'desc')
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  if (page.length === 0) return { conversations: [], next: null };

  const keys = page.map((r) => r.conversation_key);
  // one after another: on PostgreSQL, concurrent queries of one request cost more than they save
  const participants = await db
    .selectFrom('conversation_participants')
    .select(['conversation_key', 'userid'])
    .where('corpid', '=', corpid)
    .where('conversation_key', 'in', keys)
    .orderBy('conversation_key')
    .orderBy('userid')
    .execute();
  const lasts = await db
    .selectFrom('messages')
    .select(['msgid', 'msgtype', 'from_id', 'raw'])
    .where('corpid', '=', corpid)
    .where(
      'msgid',
      'in',
      page.map((r) => r.last_msgid),
    )
    .execute();
  const groups = await groupNames(
    db,
    corpid,
    page.map((r) => r.roomid),
  );
  const byConversation = new Map<string, string[]>();
  for (const p of participants) {
    const list = byConversation.get(p.conversation_key) ?? [];
    list.push(p.userid);
    byConversation.set(p.conversation_key, list);
  }
  const shown = new Set<string>(lasts.map((m) => m.from_id));
  for (const list of byConversation.values()) for (const id of list.slice(0, PARTICIPANTS_SHOWN)) shown.add(id);
  const names = await personNames(db, corpid, shown);
  const consent = await consentOf(db, corpid, page, byConversation);
  const lastById = new Map(lasts.map((m) => [m.msgid, m]));

  const conversations = page.map((r): ConversationSummary => {
    const ids = byConversation.get(r.conversation_key) ?? [];
    const last = lastById.get(r.last_msgid);
    return {
      conversation: r.conversation_key,
      kind: r.kind,
      roomid: r.roomid === '' ? null : r.roomid,
      name: r.roomid === '' ? null : (groups.get(r.roomid) ?? null),
      participants: ids.slice(0, PARTICIPANTS_SHOWN).map((id) => personRef(id, names)),
      participantCount: ids.length,
      consent: consent.get(r.conversation_key) ?? [],
      messageCount: Number(r.message_count),
      firstMsgtime: Number(r.first_msgtime),
      last: {
        msgid: r.last_msgid,
        msgtime: Number(r.last_msgtime),
        msgtype: last?.msgtype ?? 'unknown',
        from: personRef(last?.from_id ?? '', names),
        preview: last ? previewOf(contentOf(parseStoredMessage(last.raw), last.msgtype), last.msgtype) : null,
      },
    };
  });
  const end = page[page.length - 1]!;
  return { conversations, next: rows.length > limit ? encodeConversationCursor({ time: Number(end.last_msgtime), key: end.conversation_key }) : null };
}

/** WeCom's consent statuses as the reader shows them; others (none today) are left out. */
const CONSENT_STATUS: Readonly<Record<string, ConsentView['status']>> = { Agree: 'agree', Default_Agree: 'agree', Disagree: 'disagree' };

/**
 * The consent of each page conversation's external contacts (of those shown), in one query: a
 * group's is kept per room, a 1:1 chat's per member and contact (dir_consent's two scopes).
 */
async function consentOf(
  db: Kysely<Database>,
  corpid: string,
  page: ReadonlyArray<{ conversation_key: string; roomid: string }>,
  participants: ReadonlyMap<string, string[]>,
): Promise<Map<string, ConsentView[]>> {
  const shownOf = (key: string) => (participants.get(key) ?? []).slice(0, PARTICIPANTS_SHOWN);
  const isCustomer = (id: string) => isPlausibleId(id) && personKind(id) === 'external';
  const customers = new Set(page.flatMap((r) => shownOf(r.conversation_key).filter(isCustomer)));
  const rooms = page.map((r) => r.roomid).filter((id) => id !== '');
  const found = new Map<string, ConsentView[]>();
  if (customers.size === 0) return found;
  const rows = await db
    .selectFrom('dir_consent')
    .select(['scope', 'scope_id', 'external_id', 'status'])
    .where('corpid', '=', corpid)
    .where('external_id', 'in', [...customers])
    .where((eb) => eb.or([eb('scope', '=', 'single'), ...(rooms.length > 0 ? [eb.and([eb('scope', '=', 'room'), eb('scope_id', 'in', rooms)])] : [])]))
    .execute();
  for (const r of page) {
    const ids = shownOf(r.conversation_key);
    const list: ConsentView[] = [];
    for (const id of ids.filter(isCustomer)) {
      const row = rows.find((c) => c.external_id === id && (r.roomid !== '' ? c.scope === 'room' && c.scope_id === r.roomid : c.scope === 'single' && ids.includes(c.scope_id)));
      const status = row ? CONSENT_STATUS[row.status] : undefined;
      if (status) list.push({ id, status });
    }
    if (list.length > 0) found.set(r.conversation_key, list);
  }
  return found;
}
