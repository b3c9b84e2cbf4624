/**
 * The senders' names of a page of search hits, from the directory: a member's name, else a
 * customer's (external contact's), else null. One query per corp on the page (a page of one corp's
 * search is one query), never one per hit. The caller already reads these messages, so it may see
 * who sent them; the name is read as the directory holds it now.
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { SearchHit } from './search-messages.ts';

/** Sender ids by corp, without repeats. */
function sendersByCorp(hits: readonly SearchHit[]): Map<string, string[]> {
  const byCorp = new Map<string, Set<string>>();
  for (const hit of hits) {
    if (!hit.from) continue;
    let ids = byCorp.get(hit.corpid);
    if (!ids) byCorp.set(hit.corpid, (ids = new Set()));
    ids.add(hit.from);
  }
  return new Map([...byCorp].map(([corpid, ids]) => [corpid, [...ids]]));
}

/** The names of `ids` in the corp's directory: members first, customers where no member has one. */
async function namesIn(db: Kysely<Database>, corpid: string, ids: readonly string[]): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom('dir_members')
    .select(['userid as id', 'name', sql<number>`0`.as('source')])
    .where('corpid', '=', corpid)
    .where('userid', 'in', [...ids])
    .where('name', 'is not', null)
    .unionAll((eb) =>
      eb
        .selectFrom('dir_external_contacts')
        .select(['external_userid as id', 'name', sql<number>`1`.as('source')])
        .where('corpid', '=', corpid)
        .where('external_userid', 'in', [...ids])
        .where('name', 'is not', null),
    )
    .execute();
  const names = new Map<string, string>();
  for (const row of [...rows].sort((a, b) => Number(a.source) - Number(b.source))) {
    if (row.name && !names.has(row.id)) names.set(row.id, row.name);
  }
  return names;
}

/** The hits with `fromName` set: the sender's name in the directory, or null when it has none. */
export async function withSenderNames(db: Kysely<Database>, hits: readonly SearchHit[]): Promise<SearchHit[]> {
  const names = new Map<string, Map<string, string>>();
  for (const [corpid, ids] of sendersByCorp(hits)) names.set(corpid, await namesIn(db, corpid, ids));
  return hits.map((hit) => ({ ...hit, fromName: names.get(hit.corpid)?.get(hit.from) ?? null }));
}
