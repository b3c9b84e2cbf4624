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
  const groups = await db
    .selectFrom('dir_groups')
    .select(['name'])
    .where('corpid', '=', corpid)
    .where('name', 'is not', null)
    .limit(2)
    .execute()
    .catch(() => []);
  const externals = await db
    .selectFrom('dir_external_contacts')
    .select(['name'])
    .where('corpid', '=', corpid)
    .where('name', 'is not', null)
    .limit(2)
    .execute()
    .catch(() => []);
  if (!members.length || !groups.length || !externals.length) return undefined;
  return {
    members: members.map((m) => ({ userid: m.userid, name: m.name! })),
    groups: groups.map((g) => g.name!),
    externalContacts: externals.map((e) => e.name!),
  };
}
