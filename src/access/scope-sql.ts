/**
 * A ReadScope as SQL: a condition on one conversation (the `conversations` row aliased `c`) for one
 * corp, which every read of src/reading applies before it reads a conversation, and a condition on
 * the search index's entries (`search_docs` aliased `d`, which name each message's corp and
 * conversation) across corps, which search applies to its candidates before it reads their
 * messages. Both live here, beside the scope itself, so reading and search share one meaning of a
 * grant without importing each other.
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { ReadScope } from './read-scope.ts';
import type { ConversationList } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';

/** Members an `IN (…)` list holds at most; a larger department is several lists. */
const IN_CHUNK = 1000;

const NONE = sql<SqlBool>`1 = 0`;
const ALL = sql<SqlBool>`1 = 1`;

/**
 * The condition `scope` puts on conversations of `corpid`. A department grant covers its
 * sub-departments (a grant on a division reaches its teams), resolved from the directory here; a
 * conversation is in it when one of its participants is a member of one of those departments.
 */
export async function conversationScope(db: Kysely<Database>, scope: ReadScope, corpid: string): Promise<RawBuilder<SqlBool>> {
  if (scope.kind === 'everything' || scope.corps.includes(corpid)) return ALL;
  const parts: RawBuilder<SqlBool>[] = [];
  const keys = scope.conversations.filter((c) => c.corpid === corpid).map((c) => c.conversation);
  if (keys.length > 0) parts.push(sql<SqlBool>`c.conversation_key IN (${sql.join(keys)})`);
  const granted = scope.departments.filter((d) => d.corpid === corpid).map((d) => d.departmentId);
  if (granted.length > 0) {
    const members = await membersOf(db, corpid, await withSubDepartments(db, corpid, granted));
    // the granted members as constants, their conversations found through the participants' user
    // index once (not the directory joined per conversation, which databases planned badly on
    // tables whose statistics lag)
    for (let i = 0; i < members.length; i += IN_CHUNK) {
      parts.push(
        sql<SqlBool>`c.conversation_key IN (SELECT p.conversation_key FROM conversation_participants p WHERE p.corpid = ${corpid} AND p.userid IN (${sql.join(members.slice(i, i + IN_CHUNK))}))`,
      );
    }
  }
  if (parts.length === 0) return NONE;
  return sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

/**
 * The condition `scope` puts on the index entries of messages, aliased `d`: of `corpid` only when
 * given, else of any corp the scope names. A corp granted whole is a test on `d.corpid`; a narrower
 * grant also asks that the entry's conversation pass `conversationScope`, or, given `asList`, that
 * it be one of the conversations that pass it, listed here when they are no more than `asList.upTo`.
 * `conversationsOf` gives conversationScope for a corp (a caller asking twice passes one that
 * remembers it).
 */
export async function entryScope(
  db: Kysely<Database>,
  scope: ReadScope,
  corpid: string | undefined,
  asList?: ConversationList,
  conversationsOf: (corpid: string) => Promise<RawBuilder<SqlBool>> = (c) => conversationScope(db, scope, c),
): Promise<RawBuilder<SqlBool>> {
  if (scope.kind === 'everything') return ALL;
  const named = [...new Set([...scope.corps, ...scope.departments.map((d) => d.corpid), ...scope.conversations.map((c) => c.corpid)])].sort();
  const corps = corpid === undefined ? named : named.filter((c) => c === corpid);
  const parts: RawBuilder<SqlBool>[] = [];
  for (const c of corps) {
    if (scope.corps.includes(c)) {
      parts.push(sql<SqlBool>`d.corpid = ${c}`);
      continue;
    }
    const inScope = await conversationsOf(c);
    const listed = asList === undefined ? undefined : await conversationsIn(db, c, inScope, asList.upTo);
    if (asList === undefined || listed === undefined) {
      parts.push(sql<SqlBool>`(d.corpid = ${c} AND EXISTS (SELECT 1 FROM conversations c WHERE c.corpid = d.corpid AND c.conversation_key = d.conversation_key AND ${inScope}))`);
    } else if (listed.length > 0) {
      parts.push(sql<SqlBool>`(d.corpid = ${c} AND ${asList.inList(listed)})`);
    }
  }
  if (parts.length === 0) return NONE;
  return sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

/** The keys of the corp's conversations that pass `inScope`, or undefined when there are more than `upTo`. */
async function conversationsIn(db: Kysely<Database>, corpid: string, inScope: RawBuilder<SqlBool>, upTo: number): Promise<string[] | undefined> {
  const rows = await sql<{ conversation_key: string }>`SELECT c.conversation_key FROM conversations c WHERE c.corpid = ${corpid} AND ${inScope} LIMIT ${upTo + 1}`.execute(db);
  return rows.rows.length > upTo ? undefined : rows.rows.map((r) => r.conversation_key);
}

/** The userids of the corp's members in any of these departments. */
async function membersOf(db: Kysely<Database>, corpid: string, departments: readonly number[]): Promise<string[]> {
  if (departments.length === 0) return [];
  // dir_members.departments holds JSON.stringify(number[]): "[1,22,3]"
  const patterns = departments.flatMap((id) => [`[${id}]`, `[${id},%`, `%,${id}]`, `%,${id},%`]);
  const rows = await db
    .selectFrom('dir_members')
    .select('userid')
    .where('corpid', '=', corpid)
    .where((eb) => eb.or(patterns.map((p) => eb('departments', 'like', p))))
    .orderBy('userid')
    .execute();
  return rows.map((r) => r.userid);
}

/** The granted departments and every department below them in the corp's tree. */
async function withSubDepartments(db: Kysely<Database>, corpid: string, granted: readonly number[]): Promise<number[]> {
  const rows = await db.selectFrom('dir_departments').select(['dept_id', 'parent_id']).where('corpid', '=', corpid).execute();
  const children = new Map<number, number[]>();
  for (const r of rows) {
    if (r.parent_id === null) continue;
    const list = children.get(Number(r.parent_id)) ?? [];
    list.push(Number(r.dept_id));
    children.set(Number(r.parent_id), list);
  }
  const out = new Set<number>();
  const todo = granted.filter((id) => Number.isSafeInteger(id));
  while (todo.length > 0) {
    const id = todo.pop()!;
    if (out.has(id)) continue;
    out.add(id);
    todo.push(...(children.get(id) ?? []));
  }
  return [...out].sort((a, b) => a - b);
}
