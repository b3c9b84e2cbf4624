/**
 * Names for ids, read from the directory tables at the moment of asking (export time): members
 * (following userid renames), external contacts, robots and groups. Lookups are batched and cached
 * per resolver, so exporting a million messages costs a query per batch of new ids, not per message.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { personKind } from './id-kinds.ts';

const CHUNK = 500;
const CACHE_LIMIT = 200_000;

export class NameResolver {
  private readonly people = new Map<string, string | null>();
  private readonly rooms = new Map<string, string | null>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly corpid: string,
  ) {}

  /** Loads the names of the given ids that are not cached yet. */
  async load(personIds: Iterable<string>, roomIds: Iterable<string>): Promise<void> {
    if (this.people.size + this.rooms.size > CACHE_LIMIT) {
      this.people.clear();
      this.rooms.clear();
    }
    const wanted = { member: [] as string[], external: [] as string[], robot: [] as string[] };
    for (const id of new Set(personIds)) if (id && !this.people.has(id)) wanted[personKind(id)].push(id);
    const rooms = [...new Set(roomIds)].filter((r) => r && !this.rooms.has(r));

    for (let i = 0; i < wanted.member.length; i += CHUNK) await this.loadMembers(wanted.member.slice(i, i + CHUNK));
    for (let i = 0; i < wanted.external.length; i += CHUNK) {
      const part = wanted.external.slice(i, i + CHUNK);
      const rows = await this.db
        .selectFrom('dir_external_contacts')
        .select(['external_userid', 'name'])
        .where('corpid', '=', this.corpid)
        .where('external_userid', 'in', part)
        .execute();
      this.remember(this.people, part, new Map(rows.map((r) => [r.external_userid, r.name])));
    }
    for (let i = 0; i < wanted.robot.length; i += CHUNK) {
      const part = wanted.robot.slice(i, i + CHUNK);
      const rows = await this.db.selectFrom('dir_robots').select(['robot_id', 'name']).where('corpid', '=', this.corpid).where('robot_id', 'in', part).execute();
      this.remember(this.people, part, new Map(rows.map((r) => [r.robot_id, r.name])));
    }
    for (let i = 0; i < rooms.length; i += CHUNK) {
      const part = rooms.slice(i, i + CHUNK);
      const rows = await this.db.selectFrom('dir_groups').select(['roomid', 'name']).where('corpid', '=', this.corpid).where('roomid', 'in', part).execute();
      this.remember(this.rooms, part, new Map(rows.map((r) => [r.roomid, r.name])));
    }
  }

  /** The person's name, or null when the directory does not know it (yet). */
  person(id: string): string | null {
    return this.people.get(id) ?? null;
  }

  room(roomid: string): string | null {
    return this.rooms.get(roomid) ?? null;
  }

  /** A renamed userid resolves to the member it became (NewUserID), a few hops at most. */
  private async loadMembers(ids: string[]): Promise<void> {
    const rows = await this.db.selectFrom('dir_members').select(['userid', 'name', 'renamed_to']).where('corpid', '=', this.corpid).where('userid', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.userid, r]));
    const names = new Map<string, string | null>();
    for (const id of ids) {
      let row = byId.get(id);
      let name = row?.name ?? null;
      for (let hop = 0; row?.renamed_to && hop < 5; hop++) {
        const next = await this.db
          .selectFrom('dir_members')
          .select(['userid', 'name', 'renamed_to'])
          .where('corpid', '=', this.corpid)
          .where('userid', '=', row.renamed_to)
          .executeTakeFirst();
        if (!next) break;
        row = next;
        name = next.name ?? name;
      }
      names.set(id, name);
    }
    this.remember(this.people, ids, names);
  }

  private remember(cache: Map<string, string | null>, ids: readonly string[], found: Map<string, string | null>): void {
    for (const id of ids) {
      const name = found.get(id);
      cache.set(id, name === undefined || name === '' ? null : name);
    }
  }
}
