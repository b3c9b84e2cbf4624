/**
 * Names from the directory for the ids a page shows, in one query per page (members, external
 * contacts and robots together), never one per message.
 */
import { type Kysely, sql } from 'kysely';
import { isPlausibleId, personKind } from '../directory/id-kinds.ts';
import type { Database } from '../store/schema.ts';

/** Who an id is, as a reader sees it. `name` is null when the directory does not know it (yet). */
export interface PersonRef {
  id: string;
  name: string | null;
  kind: 'member' | 'customer' | 'robot' | 'unknown';
}

/** Rows an `IN (…)` list holds at most. */
const IN_CHUNK = 500;

/** The directory's current names of these ids of `corpid` (ids it does not know are absent). */
export async function personNames(db: Kysely<Database>, corpid: string, ids: Iterable<string>): Promise<Map<string, string | null>> {
  const wanted = [...new Set(ids)].filter((id) => id !== '');
  const names = new Map<string, string | null>();
  for (let i = 0; i < wanted.length; i += IN_CHUNK) {
    const part = wanted.slice(i, i + IN_CHUNK);
    const rows = await db
      .selectFrom('dir_members')
      .select(['userid as id', 'name'])
      .where('corpid', '=', corpid)
      .where('userid', 'in', part)
      .unionAll(db.selectFrom('dir_external_contacts').select(['external_userid as id', 'name']).where('corpid', '=', corpid).where('external_userid', 'in', part))
      .unionAll(db.selectFrom('dir_robots').select(['robot_id as id', 'name']).where('corpid', '=', corpid).where('robot_id', 'in', part))
      .execute();
    for (const r of rows) if (r.name !== null || !names.has(r.id)) names.set(r.id, r.name);
  }
  return names;
}

/** The directory's names of these groups of `corpid`. */
export async function groupNames(db: Kysely<Database>, corpid: string, roomids: Iterable<string>): Promise<Map<string, string | null>> {
  const wanted = [...new Set(roomids)].filter((id) => id !== '');
  const names = new Map<string, string | null>();
  for (let i = 0; i < wanted.length; i += IN_CHUNK) {
    const rows = await db
      .selectFrom('dir_groups')
      .select(['roomid', 'name'])
      .where('corpid', '=', corpid)
      .where('roomid', 'in', wanted.slice(i, i + IN_CHUNK))
      .execute();
    for (const r of rows) names.set(r.roomid, r.name);
  }
  return names;
}

/** An id as a reader sees it: its kind by WeCom's id prefixes, its name from `names`. */
export function personRef(id: string, names: ReadonlyMap<string, string | null>): PersonRef {
  if (!id || !isPlausibleId(id)) return { id, name: null, kind: 'unknown' };
  const kind = personKind(id);
  return { id, name: names.get(id) ?? null, kind: kind === 'external' ? 'customer' : kind };
}

/** A LIKE pattern that finds `text` anywhere, its own `%`, `_` and `!` taken literally (escape character `!`). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

/** `column LIKE pattern` with the escape character containsPattern uses, the same on every dialect. */
export function likeEscaped(column: string, pattern: string) {
  return sql<boolean>`${sql.ref(column)} LIKE ${pattern} ESCAPE '!'`;
}
