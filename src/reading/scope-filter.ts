/**
 * A ReadScope as a SQL condition on one conversation (the `conversations` row aliased `c`), for one
 * corp: every read of this folder finds its conversation through this condition first, so a row out
 * of scope is never read, counted or named.
 */
import { type Kysely, type RawBuilder, type SqlBool, sql } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import type { Database } from '../store/schema.ts';

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
    const departments = await withSubDepartments(db, corpid, granted);
    // dir_members.departments holds JSON.stringify(number[]): "[1,22,3]"
    const patterns = departments.flatMap((id) => [`[${id}]`, `[${id},%`, `%,${id}]`, `%,${id},%`]);
    const inDepartment = sql.join(
      patterns.map((p) => sql`m.departments LIKE ${p}`),
      sql` OR `,
    );
    parts.push(sql<SqlBool>`EXISTS (SELECT 1 FROM conversation_participants p JOIN dir_members m ON m.corpid = p.corpid AND m.userid = p.userid
      WHERE p.corpid = c.corpid AND p.conversation_key = c.conversation_key AND (${inDepartment}))`);
  }
  if (parts.length === 0) return NONE;
  return sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
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
