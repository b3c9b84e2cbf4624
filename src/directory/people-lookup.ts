/**
 * Finding members, customers (external contacts) and groups of a corp's directory by what a user
 * types: an id (exactly), a name (a part of it, case-insensitively for ASCII), or a name's pinyin
 * or initials (a prefix of any reading, see name-keys.ts). `zhangsan`, `zs` and `张三` all find 张三.
 *
 * The best matches come first: an exact id, then an exact name, pinyin or initials, then a name,
 * pinyin or initials that starts with the text, then a name that contains it; within one of these,
 * members before customers before groups, then by id. Pages are by keyset on that order.
 *
 * Scope: a caller whose scope covers the whole corp (everything, or the corp among `scope.corps`)
 * sees its directory; any other scope sees none of it, also a caller granted some of the corp's
 * conversations or departments. Widening that to the people of granted conversations is later
 * work; until then a narrow scope gets empty pages, never names it may not see.
 *
 * The name's own text is matched by substring, so a lookup reads the corp's directory rows (tens
 * of thousands at most in a corp): the (corpid, key) indexes serve the prefix conditions, not
 * the substring one.
 */
import { type Expression, type Kysely, type SqlBool, sql } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { conversationScope } from '../access/scope-sql.ts';
import { ValidationError } from '../errors/errors.ts';
import { readCursor, writeCursor } from '../runtime/opaque-cursor.ts';
import type { Database } from '../store/schema.ts';
import { keyQuery } from './name-keys.ts';

export type PeopleKind = 'member' | 'customer' | 'group';

/** How a person was found, best first (the order of PeopleMatch.match in results). */
const MATCH_RANKS = ['id', 'name', 'pinyin', 'initials', 'name prefix', 'pinyin prefix', 'initials prefix', 'name part'] as const;
export type MatchKind = (typeof MATCH_RANKS)[number];

export interface PersonMatch {
  readonly kind: PeopleKind;
  readonly id: string;
  readonly name: string | null;
  /** the best way the text matched this one */
  readonly match: MatchKind;
}

export interface PeoplePage {
  readonly people: readonly PersonMatch[];
  /** the cursor of the next page; absent when nothing is left */
  readonly next: string | undefined;
}

export const PEOPLE_LIMITS = Object.freeze({ maxLimit: 200, defaultLimit: 20, queryChars: 200 });

const KINDS: readonly PeopleKind[] = ['member', 'customer', 'group'];
const TABLES = {
  member: { table: 'dir_members', id: 'userid' },
  customer: { table: 'dir_external_contacts', id: 'external_userid' },
  group: { table: 'dir_groups', id: 'roomid' },
} as const;

/** Whether `scope` sees the directory of `corpid` (see the module comment). */
export function seesDirectory(scope: ReadScope, corpid: string): boolean {
  return scope.kind === 'everything' || scope.corps.includes(corpid);
}

/** `%`, `_` and the escape character itself taken literally in a LIKE pattern with ESCAPE '!'. */
const likeLiteral = (text: string): string => text.replace(/[!%_]/g, (ch) => `!${ch}`);

/** A space-separated key list holds `key` as one of its variants. */
function holdsKey(column: string, key: string): Expression<SqlBool> {
  const c = sql.ref(column);
  return sql<SqlBool>`(${c} = ${key} OR ${c} LIKE ${`${key} %`} OR ${c} LIKE ${`% ${key}`} OR ${c} LIKE ${`% ${key} %`})`;
}

/** A space-separated key list holds a variant that starts with `prefix` (letters and digits only). */
function holdsKeyPrefix(column: string, prefix: string): Expression<SqlBool> {
  const c = sql.ref(column);
  return sql<SqlBool>`(${c} LIKE ${`${prefix}%`} OR ${c} LIKE ${`% ${prefix}%`})`;
}

/** The rank of a row for `text` (an index into MATCH_RANKS), or MATCH_RANKS.length when it does not match. */
function rankOf(idColumn: string, text: string) {
  const lower = text.toLowerCase();
  const key = keyQuery(text);
  const name = sql`lower(name)`;
  const literal = likeLiteral(lower);
  const conditions: Array<[MatchKind, Expression<SqlBool>]> = [
    ['id', sql<SqlBool>`${sql.ref(idColumn)} = ${text}`],
    ['name', sql<SqlBool>`${name} = ${lower}`],
  ];
  if (key) conditions.push(['pinyin', holdsKey('name_pinyin', key)], ['initials', holdsKey('name_initials', key)]);
  conditions.push(['name prefix', sql<SqlBool>`${name} LIKE ${`${literal}%`} ESCAPE '!'`]);
  if (key) conditions.push(['pinyin prefix', holdsKeyPrefix('name_pinyin', key)], ['initials prefix', holdsKeyPrefix('name_initials', key)]);
  conditions.push(['name part', sql<SqlBool>`${name} LIKE ${`%${literal}%`} ESCAPE '!'`]);
  const whens = conditions.map(([kind, condition]) => sql`WHEN ${condition} THEN ${sql.lit(MATCH_RANKS.indexOf(kind))}`);
  return sql<number>`CASE ${sql.join(whens, sql` `)} ELSE ${sql.lit(MATCH_RANKS.length)} END`;
}

/**
 * A cheap superset of the rows rankOf ranks: one LIKE per column instead of eight conditions, so
 * the exact rank is worked out only for rows that can match.
 */
function mayMatch(idColumn: string, text: string): Expression<SqlBool> {
  const key = keyQuery(text);
  const conditions = [sql<SqlBool>`${sql.ref(idColumn)} = ${text}`, sql<SqlBool>`lower(name) LIKE ${`%${likeLiteral(text.toLowerCase())}%`} ESCAPE '!'`];
  if (key) conditions.push(sql<SqlBool>`name_pinyin LIKE ${`%${key}%`}`, sql<SqlBool>`name_initials LIKE ${`%${key}%`}`);
  return sql<SqlBool>`(${sql.join(conditions, sql` OR `)})`;
}

type OrderKey = readonly [rank: number, kind: number, id: string];

interface Row {
  rank: number | string;
  kind_order: number | string;
  id: string;
  name: string | null;
}

/**
 * One page of the members, customers and groups of `corpid` that `text` matches (see the module
 * comment), of the `kinds` asked for (all by default), up to `limit` (1–200) after the cursor
 * `after` of the page before. A scope that does not see the corp's directory gets an empty page.
 */
export async function peopleMatching(
  db: Kysely<Database>,
  scope: ReadScope,
  corpid: string,
  text: string,
  options: { kinds?: readonly PeopleKind[]; limit?: number; after?: string } = {},
): Promise<PeoplePage> {
  if (typeof text !== 'string' || text.trim().length === 0 || text.length > PEOPLE_LIMITS.queryChars) {
    throw new ValidationError('PEOPLE_QUERY_INVALID', `a people lookup takes text of 1 to ${PEOPLE_LIMITS.queryChars} characters: an id, a name, pinyin or initials`);
  }
  const limit = options.limit ?? PEOPLE_LIMITS.defaultLimit;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > PEOPLE_LIMITS.maxLimit) {
    throw new ValidationError('PEOPLE_LIMIT_INVALID', `the page size ${limit} is not a whole number from 1 to ${PEOPLE_LIMITS.maxLimit}`);
  }
  const kinds = options.kinds ?? KINDS;
  const unknownKind = kinds.find((k) => !KINDS.includes(k));
  if (kinds.length === 0 || unknownKind !== undefined) throw new ValidationError('PEOPLE_QUERY_INVALID', `the kinds to look up must be some of ${KINDS.join(', ')}`);
  const after = options.after === undefined ? undefined : decodeCursor(options.after);
  if (!seesDirectory(scope, corpid)) return { people: [], next: undefined };

  return matchingPage(db, corpid, text, kinds, after, limit, undefined);
}

/**
 * The page of peopleMatching, without the scope check: `among`, when given, is a further condition
 * on the person's id (written against the column `id` of each directory table).
 */
async function matchingPage(
  db: Kysely<Database>,
  corpid: string,
  text: string,
  kinds: readonly PeopleKind[],
  after: OrderKey | undefined,
  limit: number,
  among: ((idColumn: string) => Expression<SqlBool>) | undefined,
): Promise<PeoplePage> {
  const q = text.trim().normalize('NFKC');
  const parts = KINDS.filter((k) => kinds.includes(k)).map((kind) => {
    const { table, id } = TABLES[kind];
    const part = db
      .selectFrom(table)
      .select([rankOf(id, q).as('rank'), sql.lit(KINDS.indexOf(kind)).as('kind_order'), sql.ref(id).as('id'), 'name'])
      .where('corpid', '=', corpid)
      .where(mayMatch(id, q));
    return among ? part.where(among(id)) : part;
  });
  const union = parts.slice(1).reduce((all, part) => all.unionAll(part), parts[0]!);
  let page = db.selectFrom(union.as('p')).selectAll().where('p.rank', '<', MATCH_RANKS.length);
  if (after) page = page.where((eb) => eb(eb.refTuple('p.rank', 'p.kind_order', 'p.id'), '>', eb.tuple(after[0], after[1], after[2])));
  const rows = (await page
    .orderBy('p.rank')
    .orderBy('p.kind_order')
    .orderBy('p.id')
    .limit(limit + 1)
    .execute()) as Row[];
  const people = rows.slice(0, limit).map((r) => ({ kind: KINDS[Number(r.kind_order)]!, id: r.id, name: r.name, match: MATCH_RANKS[Number(r.rank)]! }));
  const last = rows.length > limit ? rows[limit - 1]! : undefined;
  return { people, next: last ? writeCursor([Number(last.rank), Number(last.kind_order), last.id]) : undefined };
}

function decodeCursor(cursor: string): OrderKey {
  const invalid = () => new ValidationError('PEOPLE_CURSOR_INVALID', 'the cursor is not one a people lookup gave; start again without it');
  const key = readCursor(cursor);
  const valid =
    Array.isArray(key) &&
    key.length === 3 &&
    Number.isSafeInteger(key[0]) &&
    key[0] >= 0 &&
    key[0] < MATCH_RANKS.length &&
    Number.isSafeInteger(key[1]) &&
    key[1] >= 0 &&
    key[1] < KINDS.length &&
    typeof key[2] === 'string' &&
    key[2].length <= 191;
  if (!valid) throw invalid();
  return key as unknown as OrderKey;
}

/** The senders a `--from` text stands for (senderIdsFor). */
export interface SenderChoice {
  /** the ids to filter on */
  readonly ids: readonly string[];
  /** the directory entries they come from; empty when the text is taken as an id the directory does not know */
  readonly people: readonly PersonMatch[];
}

/** How precisely a sender was matched: only the most precise tier found is taken. */
const SENDER_TIERS: Readonly<Record<MatchKind, number>> = {
  id: 0,
  name: 1,
  pinyin: 1,
  initials: 1,
  'name prefix': 2,
  'pinyin prefix': 2,
  'initials prefix': 2,
  'name part': 3,
};

/** At most this many people for one `--from`: a text that matches more is too vague to filter on. */
export const SENDER_LIMIT = 100;

/**
 * The senders `text` stands for in a search's sender filter, among the corp's members and
 * customers: the best matches only (an exact id alone; else all with an exact name, pinyin or
 * initials; else all whose name, pinyin or initials start with it; else all whose name contains
 * it), so `张三` does not also take 张三丰 while `zs` takes both 张三 and 赵四. A text the
 * directory does not know is taken as an id when the corp has messages from it (the directory may
 * never have seen a sender). Anything else is refused with a ValidationError saying so. A scope
 * that does not see the corp's directory gets `text` as an id, unchecked.
 */
export async function senderIdsFor(db: Kysely<Database>, scope: ReadScope, corpid: string, text: string): Promise<SenderChoice> {
  if (!seesDirectory(scope, corpid)) return sendersInConversations(db, scope, corpid, text);
  const { people } = await peopleMatching(db, scope, corpid, text, { kinds: ['member', 'customer'], limit: SENDER_LIMIT + 1 });
  const best = people.filter((p) => SENDER_TIERS[p.match] === SENDER_TIERS[people[0]!.match]);
  if (best.length > SENDER_LIMIT) {
    throw new ValidationError('SEARCH_FROM_AMBIGUOUS', `"${text}" matches more than ${SENDER_LIMIT} members and customers; give more of the name, or an id`);
  }
  if (best.length > 0) return { ids: [...new Set(best.map((p) => p.id))], people: best };
  const sent = await db.selectFrom('messages').select('msgid').where('corpid', '=', corpid).where('from_id', '=', text).limit(1).executeTakeFirst();
  if (sent) return { ids: [text], people: [] };
  throw new ValidationError(
    'SEARCH_FROM_UNKNOWN',
    `no member or customer of ${corpid} matches "${text}" by id, name, pinyin or initials, and no message of the corp is from the id "${text}"`,
  );
}

/**
 * senderIdsFor for a scope narrower than the corp (departments, conversations): the same tiers, but
 * among the people who take part in a conversation the scope holds, and an unknown id only when it
 * takes part in one. So the answer (the people found, "ambiguous", "unknown") is the same whether or
 * not someone outside the scope matches: the filter teaches a viewer nothing about people it may not see.
 */
async function sendersInConversations(db: Kysely<Database>, scope: ReadScope, corpid: string, text: string): Promise<SenderChoice> {
  if (typeof text !== 'string' || text.trim().length === 0 || text.length > PEOPLE_LIMITS.queryChars) {
    throw new ValidationError('PEOPLE_QUERY_INVALID', `a sender is text of 1 to ${PEOPLE_LIMITS.queryChars} characters: an id, a name, pinyin or initials`);
  }
  const inScope = await conversationScope(db, scope, corpid);
  const participants = db
    .selectFrom('conversation_participants as p')
    .innerJoin('conversations as c', (j) => j.onRef('c.corpid', '=', 'p.corpid').onRef('c.conversation_key', '=', 'p.conversation_key'))
    .select('p.userid')
    .where('p.corpid', '=', corpid)
    .where(inScope);
  const among = (idColumn: string) => sql<SqlBool>`${sql.ref(idColumn)} IN (${participants})`;
  const { people } = await matchingPage(db, corpid, text, ['member', 'customer'], undefined, SENDER_LIMIT + 1, among);
  const best = people.filter((p) => SENDER_TIERS[p.match] === SENDER_TIERS[people[0]!.match]);
  if (best.length > SENDER_LIMIT) {
    throw new ValidationError('SEARCH_FROM_AMBIGUOUS', `"${text}" matches more than ${SENDER_LIMIT} people of the conversations you may read; give more of the name, or an id`);
  }
  if (best.length > 0) return { ids: [...new Set(best.map((p) => p.id))], people: best };
  const takesPart = await participants.where('p.userid', '=', text).limit(1).executeTakeFirst();
  if (takesPart) return { ids: [text], people: [] };
  throw new ValidationError('SEARCH_FROM_UNKNOWN', `no one in the conversations of ${corpid} you may read matches "${text}" by id, name, pinyin or initials`);
}
