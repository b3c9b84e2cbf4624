import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';

/** A few named entries of each kind of a corp's directory (the demo's proof that names work). */
export interface DirectorySample {
  readonly members: ReadonlyArray<{ userid: string; name: string }>;
  readonly groups: readonly string[];
  readonly externalContacts: readonly string[];
}

/**
 * Up to three named members, two named groups and two named external contacts of `corpid`, or
 * undefined while any of the three has none named yet (or the database cannot answer now).
 */
export async function directorySample(db: Kysely<Database>, corpid: string): Promise<DirectorySample | undefined> {
  const members = await db
    .selectFrom('dir_members')
    .select(['userid', 'name'])
    .where('corpid', '=', corpid)
    .where('name', 'is not', null)
    .limit(3)
    .execute()
    .catch(() => []);
  const groups = await namesIn(db, 'dir_groups', corpid, 2);
  const externals = await namesIn(db, 'dir_external_contacts', corpid, 2);
  if (!members.length || !groups.length || !externals.length) return undefined;
  return {
    members: members.map((m) => ({ userid: m.userid, name: m.name! })),
    groups,
    externalContacts: externals,
  };
}

/** Up to `limit` names of `corpid` in `table`; none when the database cannot answer now. */
async function namesIn(db: Kysely<Database>, table: 'dir_groups' | 'dir_external_contacts', corpid: string, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom(table)
    .select('name')
    .where('corpid', '=', corpid)
    .where('name', 'is not', null)
    .limit(limit)
    .execute()
    .catch(() => []);
  return rows.map((r) => r.name!);
}
