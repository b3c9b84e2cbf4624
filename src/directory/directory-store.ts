/**
 * The directory tables (schema 0004): members, departments, tags, external contacts, groups, robots,
 * consent, the permit list, WeCom's callback IPs, the refresh queue and the sync state. Every write
 * is idempotent (an upsert keyed like WeCom keys the thing), so a sync or an event handled twice
 * changes nothing the second time. Renames keep history: a changed name or userid adds a row to
 * dir_name_history, and deleted or renamed members keep their row, because archived messages still
 * carry their old ids. Each change a downstream system may want is also an outbox event written in
 * the same transaction (outbox-writer.ts): a rename or new userid, and a member, department,
 * customer or group the directory gains or loses (see `presence`).
 */
import type { Insertable, Kysely } from 'kysely';
import { recordDirectoryChange } from '../outbox/outbox-writer.ts';
import { clip as clipText, clipError } from '../runtime/clip.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { transactionRetryingConflicts } from '../store/in-transaction.ts';
import { ClaimQueue, type QueueDescriptor, type RetryPolicy } from '../store/claims/claim-queue.ts';
import type {
  Database,
  DirDepartmentTable,
  DirEntityKind,
  DirExternalContactTable,
  DirMember,
  DirRefreshQueueRow,
  DirRefreshQueueTable,
  NewDirMember,
  RefreshReason,
  TagMemberKind,
} from '../store/schema.ts';
import type { ApiExternalContact, ApiGroup, ApiRobot } from '../wecom-api/wecom-endpoints.ts';
import type { SyncPart } from './directory-sync.ts';
import type { NameSource, RefreshKind } from '../store/vocabulary.ts';
import { nameKeys } from './name-keys.ts';

export type { NameSource, RefreshKind };

/** Member fields; undefined leaves a stored value as it is (update_user carries only what changed). */
export interface MemberFields {
  userid: string;
  name?: string | null | undefined;
  alias?: string | null | undefined;
  position?: string | null | undefined;
  departments?: number[] | undefined;
  mainDepartment?: number | null | undefined;
  status?: number | null | undefined;
}

export interface DepartmentFields {
  id: number;
  name?: string | null | undefined;
  nameEn?: string | null | undefined;
  parentId?: number | null | undefined;
  order?: number | null | undefined;
}

export interface SyncOutcome {
  items: number;
  durationMs: number;
  watermark?: string | null;
}

const NAME_MAX = 1024;
const CHUNK = 100;
/** names and other text of the directory, cut to their columns (NAME_MAX unless said) */
const clip = (s: string | null | undefined, max = NAME_MAX): string | null | undefined => clipText(s, max);
const chunks = <T>(items: readonly T[], size = CHUNK): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

type Trx = Kysely<Database>;

/**
 * A name with its search keys (name-keys.ts), cut to its column. Every write of a member's,
 * customer's or group's name goes through here, so the keys never describe an older name.
 */
const named = (name: string | null | undefined) => {
  const clipped = clip(name) ?? null;
  const keys = nameKeys(clipped);
  return { name: clipped, name_pinyin: keys.pinyin, name_initials: keys.initials };
};

const UNNAMED = Object.freeze({ name: null, name_pinyin: null, name_initials: null });

/** A member row that knows nothing but its id yet: every described column empty, live, never synced. */
const blankMember = (corpid: string, userid: string, now: number): NewDirMember => ({
  corpid,
  userid,
  ...UNNAMED,
  alias: null,
  position: null,
  departments: null,
  main_department: null,
  status: null,
  renamed_to: null,
  deleted_at: null,
  synced_at: null,
  updated_at: now,
});

/** A department row that knows nothing but its id yet. */
const blankDepartment = (corpid: string, deptId: number, now: number): Insertable<DirDepartmentTable> => ({
  corpid,
  dept_id: deptId,
  name: null,
  name_en: null,
  parent_id: null,
  sort_order: null,
  deleted_at: null,
  synced_at: null,
  updated_at: now,
});

/** An external contact row that knows nothing but its id yet (status 'unknown', never described). */
const blankExternal = (corpid: string, externalUserId: string, now: number): Insertable<DirExternalContactTable> => ({
  corpid,
  external_userid: externalUserId,
  ...UNNAMED,
  type: null,
  corp_name: null,
  corp_full_name: null,
  position: null,
  follow_users: null,
  status: 'unknown',
  last_error_code: null,
  last_error: null,
  synced_at: null,
  updated_at: now,
});

/** A new refresh queue entry, due now (ids cut to the column's 400 characters). */
const newRefresh = (corpid: string, kind: RefreshKind, entityId: string, reason: RefreshReason, now: number): Insertable<DirRefreshQueueTable> => ({
  corpid,
  entity_kind: kind,
  entity_id: entityId.slice(0, 400),
  reason,
  state: 'pending',
  attempts: 0,
  next_attempt_at: now,
  last_error_code: null,
  last_error: null,
  lease_owner: null,
  lease_until: null,
  created_at: now,
  updated_at: now,
});

/** The status columns of a contact or group WeCom has just described. */
const describedNow = (now: number) => ({ status: 'ok' as const, last_error_code: null, last_error: null, synced_at: now, updated_at: now });

/** A queued id due now with all its tries back, its lease (if any) dropped. */
const dueAgain = (now: number) => ({ state: 'pending' as const, attempts: 0, next_attempt_at: now, lease_owner: null, lease_until: null, updated_at: now });

/**
 * The refresh queue as a claim queue: a claimed id stays `pending` while leased (an event that asks
 * again can take it back at once); a try is counted when it fails; soonest due first.
 */
export const REFRESH_QUEUE: QueueDescriptor<'dir_refresh_queue'> = {
  table: 'dir_refresh_queue',
  key: ['corpid', 'entity_kind', 'entity_id'],
  state: 'state',
  states: { ready: 'pending', working: 'pending', gaveUp: 'gave_up' },
  due: 'next_attempt_at',
  attempts: 'attempts',
  countTry: 'on failure',
  order: 'next_attempt_at',
  updatedAt: 'updated_at',
};

export class DirectoryStore {
  private readonly refreshQueue: ClaimQueue<'dir_refresh_queue'>;

  constructor(
    readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
    private readonly now: () => number = Date.now,
  ) {
    this.refreshQueue = new ClaimQueue(db, REFRESH_QUEUE, now);
  }

  // ---------------------------------------------------------------- members

  /** Creates or updates one member; a changed name is recorded in the history. */
  async upsertMember(corpid: string, m: MemberFields, source: NameSource): Promise<void> {
    await this.tx(async (trx) => {
      const existing = await trx.selectFrom('dir_members').select(['name', 'deleted_at']).where('corpid', '=', corpid).where('userid', '=', m.userid).executeTakeFirst();
      await this.writeMember(trx, corpid, m, existing ?? null, source);
    });
  }

  /**
   * `unchangedSince`: update the row only if nothing changed it since this time (a sync's list,
   * fetched from then on, must not undo an event handled meanwhile).
   */
  private async writeMember(
    trx: Trx,
    corpid: string,
    m: MemberFields,
    existing: { name: string | null; deleted_at: number | null } | null,
    source: NameSource,
    unchangedSince?: number,
  ): Promise<void> {
    const now = this.now();
    const values = {
      ...(m.name !== undefined ? named(m.name) : {}),
      ...(m.alias !== undefined ? { alias: clip(m.alias) } : {}),
      ...(m.position !== undefined ? { position: clip(m.position) } : {}),
      ...(m.departments !== undefined ? { departments: JSON.stringify(m.departments) } : {}),
      ...(m.mainDepartment !== undefined ? { main_department: m.mainDepartment } : {}),
      ...(m.status !== undefined ? { status: m.status } : {}),
      ...(source === 'sync' ? { synced_at: now } : {}),
      deleted_at: null,
      updated_at: now,
    };
    if (existing) {
      let update = trx.updateTable('dir_members').set(values).where('corpid', '=', corpid).where('userid', '=', m.userid);
      if (unchangedSince !== undefined) update = update.where('updated_at', '<', unchangedSince);
      if (Number((await update.executeTakeFirst()).numUpdatedRows) === 0) return;
      if (m.name !== undefined && m.name !== null && existing.name !== null && existing.name !== clip(m.name)) {
        await this.history(trx, corpid, 'member', m.userid, 'name', existing.name, clip(m.name) ?? null, source);
      }
      // a member marked deleted is back
      if (existing.deleted_at !== null) await this.presence(trx, corpid, 'member', m.userid, 'added', (m.name === undefined ? existing.name : clip(m.name)) ?? null, source);
    } else {
      await this.dialect.ignoreDuplicates(trx.insertInto('dir_members').values({ ...blankMember(corpid, m.userid, now), ...values }), ['corpid', 'userid']).execute();
      await this.presence(trx, corpid, 'member', m.userid, 'added', clip(m.name) ?? null, source);
    }
  }

  /**
   * A full member list from a sync: inserts new members and updates changed ones in batches (a sync
   * of 10,000 members is a few hundred statements, not 20,000). Members synced before but absent now
   * are marked deleted, keeping their names. `fetchedFrom`: when fetching the list began; a member
   * an event changed after that keeps what the event wrote (the list may be older than the event).
   */
  async replaceMembers(corpid: string, members: readonly MemberFields[], fetchedFrom = this.now()): Promise<{ added: number; changed: number; deleted: number }> {
    const now = this.now();
    const existing = new Map<string, Omit<DirMember, 'corpid' | 'userid' | 'name_pinyin' | 'name_initials'>>();
    for (const r of await this.db
      .selectFrom('dir_members')
      .select(['userid', 'name', 'alias', 'position', 'departments', 'main_department', 'status', 'deleted_at', 'synced_at', 'renamed_to', 'updated_at'])
      .where('corpid', '=', corpid)
      .execute()) {
      existing.set(r.userid, r);
    }
    // changed by an event since the list was fetched: left as the event wrote them
    const fresher = new Set([...existing.entries()].filter(([, r]) => Number(r.updated_at) >= fetchedFrom).map(([id]) => id));
    const inserts: Database['dir_members'][] = [];
    const updates: Array<{ m: MemberFields; old: { name: string | null; deleted_at: number | null } }> = [];
    const seen = new Set<string>();
    for (const m of members) {
      if (seen.has(m.userid)) continue;
      seen.add(m.userid);
      if (fresher.has(m.userid)) continue;
      const old = existing.get(m.userid);
      const name = clip(m.name) ?? null;
      const departments = m.departments === undefined ? null : JSON.stringify(m.departments);
      if (!old) {
        inserts.push({
          corpid,
          userid: m.userid,
          ...named(m.name),
          alias: clip(m.alias) ?? null,
          position: clip(m.position) ?? null,
          departments,
          main_department: m.mainDepartment ?? null,
          status: m.status ?? null,
          renamed_to: null,
          deleted_at: null,
          synced_at: now,
          updated_at: now,
        });
        continue;
      }
      const changed =
        (name !== null && old.name !== name) ||
        (m.departments !== undefined && old.departments !== departments) ||
        old.deleted_at !== null ||
        (m.alias !== undefined && old.alias !== clip(m.alias)) ||
        (m.position !== undefined && old.position !== clip(m.position)) ||
        (m.status !== undefined && old.status !== m.status) ||
        (m.mainDepartment !== undefined && old.main_department !== m.mainDepartment);
      if (changed) updates.push({ m, old: { name: old.name, deleted_at: old.deleted_at === null ? null : Number(old.deleted_at) } });
    }
    const gone = [...existing.entries()]
      .filter(([id, r]) => !seen.has(id) && !fresher.has(id) && r.deleted_at === null && r.synced_at !== null && r.renamed_to === null)
      .map(([id]) => id);

    await this.tx(async (trx) => {
      for (const part of chunks(inserts)) {
        // an event may have added some since the read above: those are its to report
        const there = new Set(
          (
            await trx
              .selectFrom('dir_members')
              .select('userid')
              .where('corpid', '=', corpid)
              .where(
                'userid',
                'in',
                part.map((r) => r.userid),
              )
              .execute()
          ).map((r) => r.userid),
        );
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_members').values(part), ['corpid', 'userid']).execute();
        for (const r of part.filter((r) => !there.has(r.userid))) await this.presence(trx, corpid, 'member', r.userid, 'added', r.name, 'sync');
      }
      // each only if no event changed it meanwhile, which also holds for an event handled after the read above
      for (const u of updates) await this.writeMember(trx, corpid, u.m, u.old, 'sync', fetchedFrom);
      for (const part of chunks(gone)) {
        const leaving = await trx
          .selectFrom('dir_members')
          .select(['userid', 'name'])
          .where('corpid', '=', corpid)
          .where('userid', 'in', part)
          .where('updated_at', '<', fetchedFrom)
          .where('deleted_at', 'is', null)
          .execute();
        if (leaving.length === 0) continue;
        await trx
          .updateTable('dir_members')
          .set({ deleted_at: now, updated_at: now })
          .where('corpid', '=', corpid)
          .where(
            'userid',
            'in',
            leaving.map((r) => r.userid),
          )
          .execute();
        for (const r of leaving) await this.presence(trx, corpid, 'member', r.userid, 'deleted', r.name, 'sync');
      }
      // Members untouched by this sync but present: mark them synced now.
      const updated = new Set(updates.map((u) => u.m.userid));
      const untouched = [...seen].filter((id) => existing.has(id) && !updated.has(id));
      for (const part of chunks(untouched, 500)) {
        await trx.updateTable('dir_members').set({ synced_at: now }).where('corpid', '=', corpid).where('userid', 'in', part).execute();
      }
    });
    return { added: inserts.length, changed: updates.length, deleted: gone.length };
  }

  /**
   * NewUserID: the member's userid changed. The new id gets the member's row; the old row stays
   * (messages archived under the old id still resolve) and points at the new one.
   */
  async renameUserId(corpid: string, oldId: string, newId: string, source: NameSource): Promise<void> {
    if (oldId === newId) return;
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_members').selectAll().where('corpid', '=', corpid).where('userid', '=', oldId).executeTakeFirst();
      const already = await trx.selectFrom('dir_members').select('userid').where('corpid', '=', corpid).where('userid', '=', newId).executeTakeFirst();
      if (old?.renamed_to === newId && already) return; // handled before
      if (!already) {
        await this.dialect
          .ignoreDuplicates(
            // the old row's description under the new id, live and not renamed
            trx.insertInto('dir_members').values(old ? { ...old, userid: newId, renamed_to: null, deleted_at: null, updated_at: now } : blankMember(corpid, newId, now)),
            ['corpid', 'userid'],
          )
          .execute();
      }
      if (old) await trx.updateTable('dir_members').set({ renamed_to: newId, updated_at: now }).where('corpid', '=', corpid).where('userid', '=', oldId).execute();
      else {
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_members').values({ ...blankMember(corpid, oldId, now), renamed_to: newId }), ['corpid', 'userid']).execute();
      }
      await this.history(trx, corpid, 'member', newId, 'userid', oldId, newId, source);
    });
  }

  /** delete_user: the member is gone from the corp, but keeps a name in the archive. */
  async deleteMember(corpid: string, userid: string): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_members').select(['name', 'deleted_at']).where('corpid', '=', corpid).where('userid', '=', userid).executeTakeFirst();
      if (old?.deleted_at !== null && old?.deleted_at !== undefined) return; // deleted before
      if (old) {
        await trx.updateTable('dir_members').set({ deleted_at: now, updated_at: now }).where('corpid', '=', corpid).where('userid', '=', userid).execute();
      } else {
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_members').values({ ...blankMember(corpid, userid, now), deleted_at: now }), ['corpid', 'userid']).execute();
      }
      await this.presence(trx, corpid, 'member', userid, 'deleted', old?.name ?? null, 'event');
    });
  }

  // ---------------------------------------------------------------- departments

  async upsertDepartment(corpid: string, d: DepartmentFields, source: NameSource): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_departments').select(['name', 'deleted_at']).where('corpid', '=', corpid).where('dept_id', '=', d.id).executeTakeFirst();
      const values = {
        ...(d.name !== undefined ? { name: clip(d.name) } : {}),
        ...(d.nameEn !== undefined ? { name_en: clip(d.nameEn) } : {}),
        ...(d.parentId !== undefined ? { parent_id: d.parentId } : {}),
        ...(d.order !== undefined ? { sort_order: d.order } : {}),
        ...(source === 'sync' ? { synced_at: now } : {}),
        deleted_at: null,
        updated_at: now,
      };
      if (old) {
        await trx.updateTable('dir_departments').set(values).where('corpid', '=', corpid).where('dept_id', '=', d.id).execute();
        await this.renamed(trx, corpid, 'department', String(d.id), old.name, d.name, source);
        if (old.deleted_at !== null) await this.presence(trx, corpid, 'department', String(d.id), 'added', (d.name === undefined ? old.name : clip(d.name)) ?? null, source);
      } else {
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_departments').values({ ...blankDepartment(corpid, d.id, now), ...values }), ['corpid', 'dept_id']).execute();
        await this.presence(trx, corpid, 'department', String(d.id), 'added', clip(d.name) ?? null, source);
      }
    });
  }

  /** The full department list of a sync; departments absent from it are marked deleted. */
  async replaceDepartments(corpid: string, departments: readonly DepartmentFields[]): Promise<void> {
    for (const d of departments) await this.upsertDepartment(corpid, d, 'sync');
    const ids = new Set(departments.map((d) => d.id));
    const now = this.now();
    await this.tx(async (trx) => {
      const live = await trx.selectFrom('dir_departments').select(['dept_id', 'name']).where('corpid', '=', corpid).where('deleted_at', 'is', null).execute();
      const gone = live.filter((r) => !ids.has(Number(r.dept_id)));
      for (const part of chunks(gone)) {
        await trx
          .updateTable('dir_departments')
          .set({ deleted_at: now, updated_at: now })
          .where('corpid', '=', corpid)
          .where(
            'dept_id',
            'in',
            part.map((r) => r.dept_id),
          )
          .execute();
        for (const r of part) await this.presence(trx, corpid, 'department', String(r.dept_id), 'deleted', r.name, 'sync');
      }
    });
  }

  /** delete_party: the department is gone, but keeps its name in the archive. */
  async deleteDepartment(corpid: string, id: number): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_departments').select(['name', 'deleted_at']).where('corpid', '=', corpid).where('dept_id', '=', id).executeTakeFirst();
      if (old?.deleted_at !== null && old?.deleted_at !== undefined) return; // deleted before
      if (old) {
        await trx.updateTable('dir_departments').set({ deleted_at: now, updated_at: now }).where('corpid', '=', corpid).where('dept_id', '=', id).execute();
      } else {
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_departments').values({ ...blankDepartment(corpid, id, now), deleted_at: now }), ['corpid', 'dept_id']).execute();
      }
      await this.presence(trx, corpid, 'department', String(id), 'deleted', old?.name ?? null, 'event');
    });
  }

  // ---------------------------------------------------------------- tags

  /** update_tag: members and departments added to or removed from a tag. */
  async applyTagChange(corpid: string, tagId: number, change: { addUsers: string[]; delUsers: string[]; addParties: number[]; delParties: number[] }): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      await this.dialect.ignoreDuplicates(trx.insertInto('dir_tags').values({ corpid, tag_id: tagId, name: null, updated_at: now }), ['corpid', 'tag_id']).execute();
      const adds = [
        ...change.addUsers.map((id) => ({ corpid, tag_id: tagId, member_kind: 'user' as const, member_id: id, updated_at: now })),
        ...change.addParties.map((id) => ({ corpid, tag_id: tagId, member_kind: 'party' as const, member_id: String(id), updated_at: now })),
      ];
      for (const part of chunks(adds))
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_tag_members').values(part), ['corpid', 'tag_id', 'member_kind', 'member_id']).execute();
      for (const [kind, ids] of [
        ['user', change.delUsers],
        ['party', change.delParties.map(String)],
      ] as const) {
        if (ids.length)
          await trx
            .deleteFrom('dir_tag_members')
            .where('corpid', '=', corpid)
            .where('tag_id', '=', tagId)
            .where('member_kind', '=', kind)
            .where('member_id', 'in', [...ids])
            .execute();
      }
    });
  }

  /** A tag as tag/get describes it (name and full membership). */
  async replaceTag(corpid: string, tagId: number, name: string | null, userids: readonly string[], partyIds: readonly number[]): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_tags').select('name').where('corpid', '=', corpid).where('tag_id', '=', tagId).executeTakeFirst();
      if (old)
        await trx
          .updateTable('dir_tags')
          .set({ ...(name !== null ? { name: clip(name) } : {}), updated_at: now })
          .where('corpid', '=', corpid)
          .where('tag_id', '=', tagId)
          .execute();
      else
        await trx
          .insertInto('dir_tags')
          .values({ corpid, tag_id: tagId, name: clip(name) ?? null, updated_at: now })
          .execute();
      if (old?.name && name && old.name !== name) await this.history(trx, corpid, 'tag', String(tagId), 'name', old.name, clip(name) ?? null, 'sync');
      await trx.deleteFrom('dir_tag_members').where('corpid', '=', corpid).where('tag_id', '=', tagId).execute();
      const rows = [...new Set(userids)]
        .map((id) => ({ corpid, tag_id: tagId, member_kind: 'user' as TagMemberKind, member_id: id, updated_at: now }))
        .concat([...new Set(partyIds)].map((id) => ({ corpid, tag_id: tagId, member_kind: 'party' as const, member_id: String(id), updated_at: now })));
      for (const part of chunks(rows)) await trx.insertInto('dir_tag_members').values(part).execute();
    });
  }

  // ---------------------------------------------------------------- external contacts

  async upsertExternal(corpid: string, c: ApiExternalContact, source: NameSource): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx
        .selectFrom('dir_external_contacts')
        .select(['name', 'status'])
        .where('corpid', '=', corpid)
        .where('external_userid', '=', c.externalUserId)
        .executeTakeFirst();
      const values = {
        ...named(c.name),
        type: c.type,
        corp_name: clip(c.corpName) ?? null,
        corp_full_name: clip(c.corpFullName) ?? null,
        position: clip(c.position) ?? null,
        follow_users: JSON.stringify(c.followUsers),
        ...describedNow(now),
      };
      if (old) {
        await trx.updateTable('dir_external_contacts').set(values).where('corpid', '=', corpid).where('external_userid', '=', c.externalUserId).execute();
        await this.renamed(trx, corpid, 'external', c.externalUserId, old.name, c.name, source);
      } else {
        await this.dialect
          .ignoreDuplicates(trx.insertInto('dir_external_contacts').values({ corpid, external_userid: c.externalUserId, ...values }), ['corpid', 'external_userid'])
          .execute();
      }
      // described now, and was not: new, only named on the side, or no member followed them
      if (old?.status !== 'ok') await this.presence(trx, corpid, 'external', c.externalUserId, 'added', values.name, source);
    });
  }

  /**
   * A name learnt on the side (a customer group's member list names its external members): stored
   * only for contacts the directory does not describe yet, never over a name from externalcontact/get.
   */
  async learnExternalName(corpid: string, externalUserId: string, name: string): Promise<void> {
    const now = this.now();
    await this.dialect
      .ignoreDuplicates(this.db.insertInto('dir_external_contacts').values({ ...blankExternal(corpid, externalUserId, now), ...named(name) }), ['corpid', 'external_userid'])
      .execute();
    await this.db
      .updateTable('dir_external_contacts')
      .set({ ...named(name), updated_at: now })
      .where('corpid', '=', corpid)
      .where('external_userid', '=', externalUserId)
      .where('name', 'is', null)
      .execute();
  }

  /** externalcontact/get refused (84061: no member follows them any more): keep what is known. */
  async markExternal(corpid: string, externalUserId: string, status: 'no_relation' | 'unknown', code: number | null, error: string): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx
        .selectFrom('dir_external_contacts')
        .select(['name', 'status'])
        .where('corpid', '=', corpid)
        .where('external_userid', '=', externalUserId)
        .executeTakeFirst();
      await this.dialect
        .ignoreDuplicates(
          trx
            .insertInto('dir_external_contacts')
            .values({ ...blankExternal(corpid, externalUserId, now), status, last_error_code: code, last_error: clipError(error), synced_at: now }),
          ['corpid', 'external_userid'],
        )
        .execute();
      await trx
        .updateTable('dir_external_contacts')
        .set({ status, last_error_code: code, last_error: clipError(error), synced_at: now, updated_at: now })
        .where('corpid', '=', corpid)
        .where('external_userid', '=', externalUserId)
        .execute();
      // no member follows them any more: the corp has lost the customer
      if (status === 'no_relation' && old?.status !== 'no_relation') await this.presence(trx, corpid, 'external', externalUserId, 'deleted', old?.name ?? null, 'sync');
    });
  }

  // ---------------------------------------------------------------- groups

  async upsertGroup(corpid: string, g: ApiGroup, source: NameSource): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_groups').select(['name', 'status']).where('corpid', '=', corpid).where('roomid', '=', g.roomid).executeTakeFirst();
      const values = {
        kind: g.kind,
        ...named(g.name),
        owner: clip(g.owner, 191) ?? null,
        notice: g.notice,
        create_time: g.createTime,
        member_count: g.members.length,
        members: JSON.stringify(g.members.map((m) => ({ id: m.id, type: m.type, join_time: m.joinTime }))),
        ...describedNow(now),
      };
      if (old) {
        await trx.updateTable('dir_groups').set(values).where('corpid', '=', corpid).where('roomid', '=', g.roomid).execute();
        await this.renamed(trx, corpid, 'group', g.roomid, old.name, g.name, source);
      } else {
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_groups').values({ corpid, roomid: g.roomid, ...values }), ['corpid', 'roomid']).execute();
      }
      // described now, and was not: new, dismissed before, or neither group API knew it
      if (old?.status !== 'ok') await this.presence(trx, corpid, 'group', g.roomid, 'added', values.name, source);
    });
  }

  /**
   * A group dismissed, or one WeCom cannot describe (neither msgaudit/groupchat/get nor
   * externalcontact/groupchat/get knows it): marked so, keeping any name known before.
   */
  async markGroup(corpid: string, roomid: string, status: 'dismissed' | 'undescribable', code: number | null, error: string | null): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_groups').select(['name', 'status']).where('corpid', '=', corpid).where('roomid', '=', roomid).executeTakeFirst();
      await this.dialect
        .ignoreDuplicates(
          trx.insertInto('dir_groups').values({
            corpid,
            roomid,
            kind: 'unknown',
            ...UNNAMED,
            owner: null,
            notice: null,
            create_time: null,
            member_count: null,
            members: null,
            status,
            last_error_code: code,
            last_error: clipError(error) ?? null,
            synced_at: now,
            updated_at: now,
          }),
          ['corpid', 'roomid'],
        )
        .execute();
      await trx
        .updateTable('dir_groups')
        .set({ status, last_error_code: code, last_error: clipError(error) ?? null, updated_at: now })
        .where('corpid', '=', corpid)
        .where('roomid', '=', roomid)
        .execute();
      if (status === 'dismissed' && old?.status !== 'dismissed') await this.presence(trx, corpid, 'group', roomid, 'deleted', old?.name ?? null, 'event');
    });
  }

  // ---------------------------------------------------------------- robots

  async upsertRobot(corpid: string, r: ApiRobot): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      const old = await trx.selectFrom('dir_robots').select('name').where('corpid', '=', corpid).where('robot_id', '=', r.robotId).executeTakeFirst();
      const values = { name: clip(r.name) ?? null, creator_userid: clip(r.creatorUserid, 191) ?? null, synced_at: now, updated_at: now };
      if (old) {
        await trx.updateTable('dir_robots').set(values).where('corpid', '=', corpid).where('robot_id', '=', r.robotId).execute();
        await this.renamed(trx, corpid, 'robot', r.robotId, old.name, r.name, 'sync');
      } else {
        await this.dialect.ignoreDuplicates(trx.insertInto('dir_robots').values({ corpid, robot_id: r.robotId, ...values }), ['corpid', 'robot_id']).execute();
      }
    });
  }

  // ---------------------------------------------------------------- consent and permit list

  async upsertConsent(
    corpid: string,
    c: { scope: 'single' | 'room'; scopeId: string; externalId: string; status: string; changeTime: number | null; source: 'api' | 'event' },
  ): Promise<void> {
    const now = this.now();
    const values = { status: c.status.slice(0, 32), status_change_time: c.changeTime, source: c.source, checked_at: now };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one filter shared by an update and a select builder
    const key = (q: any) => q.where('corpid', '=', corpid).where('scope', '=', c.scope).where('scope_id', '=', c.scopeId).where('external_id', '=', c.externalId);
    const r = await key(this.db.updateTable('dir_consent').set(values)).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      await this.dialect
        .ignoreDuplicates(this.db.insertInto('dir_consent').values({ corpid, scope: c.scope, scope_id: c.scopeId, external_id: c.externalId, ...values }), [
          'corpid',
          'scope',
          'scope_id',
          'external_id',
        ])
        .execute();
    }
  }

  async replacePermitUsers(corpid: string, userids: readonly string[]): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      await trx.deleteFrom('dir_permit_users').where('corpid', '=', corpid).execute();
      for (const part of chunks([...new Set(userids)], 200)) {
        await trx
          .insertInto('dir_permit_users')
          .values(part.map((userid) => ({ corpid, userid, synced_at: now })))
          .execute();
      }
    });
  }

  /** Every stored address of WeCom's callback sources, of all corps (the callback guard's list). */
  async callbackIps(): Promise<string[]> {
    return (await this.db.selectFrom('callback_ip_list').select('entry').execute()).map((r) => r.entry);
  }

  /** WeCom's callback IP list as fetched through this corp's token (replaces what it fetched before). */
  async replaceCallbackIps(corpid: string, entries: readonly string[]): Promise<void> {
    const now = this.now();
    await this.tx(async (trx) => {
      await trx.deleteFrom('callback_ip_list').where('source_corpid', '=', corpid).execute();
      const fresh = [...new Set(entries)];
      const taken = new Set((await trx.selectFrom('callback_ip_list').select('entry').execute()).map((r) => r.entry));
      for (const part of chunks(
        fresh.filter((e) => !taken.has(e)),
        200,
      )) {
        await trx
          .insertInto('callback_ip_list')
          .values(part.map((entry) => ({ entry, source_corpid: corpid, fetched_at: now })))
          .execute();
      }
    });
  }

  // ---------------------------------------------------------------- refresh queue

  /**
   * Asks for an id to be described (again). Already queued: left as is, unless `force` (an event
   * says the thing changed), which makes it due now and gives it its tries back.
   */
  async enqueue(corpid: string, kind: RefreshKind, entityId: string, reason: RefreshReason, options: { force?: boolean } = {}): Promise<void> {
    const now = this.now();
    if (options.force) {
      // the lease goes too: a process describing it now fetched it before this change, so its
      // refreshDone must not take the new request off the queue
      const r = await this.db
        .updateTable('dir_refresh_queue')
        .set({ ...dueAgain(now), reason })
        .where('corpid', '=', corpid)
        .where('entity_kind', '=', kind)
        .where('entity_id', '=', entityId)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) > 0) return;
    }
    await this.dialect
      .ignoreDuplicates(this.db.insertInto('dir_refresh_queue').values(newRefresh(corpid, kind, entityId, reason, now)), ['corpid', 'entity_kind', 'entity_id'])
      .execute();
  }

  async enqueueMany(corpid: string, kind: RefreshKind, entityIds: readonly string[], reason: RefreshReason): Promise<void> {
    const now = this.now();
    for (const part of chunks([...new Set(entityIds)])) {
      await this.dialect
        .ignoreDuplicates(this.db.insertInto('dir_refresh_queue').values(part.map((id) => newRefresh(corpid, kind, id, reason, now))), ['corpid', 'entity_kind', 'entity_id'])
        .execute();
    }
  }

  /**
   * Claims up to `limit` due ids for `owner` until `leaseMs` from now, so that processes sharing the
   * database (a `run` and a `serve`) describe each id once. An id another process is describing is
   * left alone until its lease ends, or at once when that process was on this host and is gone (the
   * claim rules of store/claims, shared with the pull lease, the inbox and media jobs).
   */
  async claimRefreshes(corpid: string, owner: string, limit: number, leaseMs: number): Promise<{ claimed: DirRefreshQueueRow[]; heldElsewhere: number }> {
    return this.refreshQueue.claim(owner, limit, leaseMs, { where: { corpid } });
  }

  /** Described: off the queue, unless the lease was lost or an event asked again meanwhile (then it stays due). */
  async refreshDone(corpid: string, kind: RefreshKind, entityId: string, owner: string): Promise<void> {
    await this.refreshQueue.remove({ corpid, entity_kind: kind, entity_id: entityId }, owner);
  }

  /**
   * A refresh failed: due again after the policy's backoff, or given up (kept, visible in status)
   * when `permanent` or after the policy's tries; `waitMs` waits without counting a try. The lease
   * is given back. Says whether it was given up.
   */
  async refreshFailed(
    row: Pick<DirRefreshQueueRow, 'corpid' | 'entity_kind' | 'entity_id' | 'attempts'>,
    owner: string,
    policy: RetryPolicy,
    f: { code: number | null; error: string; permanent?: boolean; waitMs?: number },
  ): Promise<{ gaveUp: boolean }> {
    const { gaveUp } = await this.refreshQueue.fail(row, owner, policy, {
      ...(f.permanent === undefined ? {} : { permanent: f.permanent }),
      ...(f.waitMs === undefined ? {} : { waitMs: f.waitMs }),
      values: () => ({ last_error_code: f.code, last_error: clipError(f.error) }),
    });
    return { gaveUp };
  }

  /** A full sync gives every id it gave up on one more chance. */
  async retryGaveUp(corpid: string): Promise<number> {
    const now = this.now();
    const r = await this.db.updateTable('dir_refresh_queue').set(dueAgain(now)).where('corpid', '=', corpid).where('state', '=', 'gave_up').executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  // ---------------------------------------------------------------- sync state

  async syncStarted(corpid: string, part: SyncPart): Promise<void> {
    const now = this.now();
    const r = await this.db.updateTable('dir_sync_state').set({ last_started_at: now, updated_at: now }).where('corpid', '=', corpid).where('part', '=', part).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) {
      await this.dialect
        .ignoreDuplicates(
          this.db.insertInto('dir_sync_state').values({
            corpid,
            part,
            last_started_at: now,
            last_success_at: null,
            last_error_code: null,
            last_error: null,
            items: null,
            duration_ms: null,
            watermark: null,
            updated_at: now,
          }),
          ['corpid', 'part'],
        )
        .execute();
    }
  }

  async syncSucceeded(corpid: string, part: SyncPart, outcome: SyncOutcome): Promise<void> {
    const now = this.now();
    await this.syncStarted(corpid, part).catch(() => undefined);
    await this.db
      .updateTable('dir_sync_state')
      .set({
        last_success_at: now,
        last_error_code: null,
        last_error: null,
        items: outcome.items,
        duration_ms: Math.round(outcome.durationMs),
        ...(outcome.watermark !== undefined ? { watermark: outcome.watermark } : {}),
        updated_at: now,
      })
      .where('corpid', '=', corpid)
      .where('part', '=', part)
      .execute();
  }

  async syncFailed(corpid: string, part: SyncPart, code: number | null, error: string): Promise<void> {
    const now = this.now();
    await this.syncStarted(corpid, part).catch(() => undefined);
    await this.db
      .updateTable('dir_sync_state')
      .set({ last_error_code: code, last_error: clipError(error), updated_at: now })
      .where('corpid', '=', corpid)
      .where('part', '=', part)
      .execute();
  }

  async watermark(corpid: string, part: SyncPart): Promise<string | null> {
    const r = await this.db.selectFrom('dir_sync_state').select('watermark').where('corpid', '=', corpid).where('part', '=', part).executeTakeFirst();
    return r?.watermark ?? null;
  }

  /** The corp's messages after `afterSeq` (all when null), in seq order: the ids the directory scan looks for. */
  messagesToScan(corpid: string, afterSeq: string | null, limit: number): Promise<Array<{ seq: string; from_id: string; tolist: string; roomid: string }>> {
    let q = this.db.selectFrom('messages').select(['seq', 'from_id', 'tolist', 'roomid']).where('corpid', '=', corpid);
    if (afterSeq !== null) q = q.where('seq', '>', afterSeq);
    return q.orderBy('seq').limit(limit).execute();
  }

  /** Which of these ids the directory describes already, by kind (a customer only once described: not 'unknown'). */
  async knownIds(corpid: string, kind: 'member' | 'external' | 'robot' | 'group', ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    switch (kind) {
      case 'member':
        return (await this.db.selectFrom('dir_members').select('userid').where('corpid', '=', corpid).where('userid', 'in', ids).execute()).map((r) => r.userid);
      case 'external':
        return (await this.db.selectFrom('dir_external_contacts').select(['external_userid', 'status']).where('corpid', '=', corpid).where('external_userid', 'in', ids).execute())
          .filter((r) => r.status !== 'unknown')
          .map((r) => r.external_userid);
      case 'robot':
        return (await this.db.selectFrom('dir_robots').select('robot_id').where('corpid', '=', corpid).where('robot_id', 'in', ids).execute()).map((r) => r.robot_id);
      case 'group':
        return (await this.db.selectFrom('dir_groups').select('roomid').where('corpid', '=', corpid).where('roomid', 'in', ids).execute()).map((r) => r.roomid);
    }
  }

  /** Which of these groups have their customers' consent stored. */
  async roomsWithConsent(corpid: string, roomids: readonly string[]): Promise<string[]> {
    if (roomids.length === 0) return [];
    return (await this.db.selectFrom('dir_consent').select('scope_id').where('corpid', '=', corpid).where('scope', '=', 'room').where('scope_id', 'in', roomids).execute()).map(
      (r) => r.scope_id,
    );
  }

  /** The stored one-to-one consents of these customers, as (member userid, external userid) pairs. */
  async singleConsents(corpid: string, externalIds: readonly string[]): Promise<Array<{ scope_id: string; external_id: string }>> {
    if (externalIds.length === 0) return [];
    return this.db
      .selectFrom('dir_consent')
      .select(['scope_id', 'external_id'])
      .where('corpid', '=', corpid)
      .where('scope', '=', 'single')
      .where('external_id', 'in', externalIds)
      .execute();
  }

  /**
   * A transaction, run again when the database picked it as a deadlock victim: the directory's
   * writers (syncs, event handlers, other processes) touch the same rows in different orders, and
   * every write here is idempotent, so a retry is always safe.
   */
  private tx<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    return transactionRetryingConflicts(this.db, this.dialect, fn);
  }

  /** Records a rename in the history: a new non-empty name, other than the stored one (none stored: not a rename). */
  private async renamed(trx: Trx, corpid: string, kind: DirEntityKind, id: string, oldName: string | null, newName: string | null | undefined, source: NameSource): Promise<void> {
    if (newName && oldName !== null && oldName !== clip(newName)) await this.history(trx, corpid, kind, id, 'name', oldName, clip(newName) ?? null, source);
  }

  /**
   * The directory gained (`added`) or lost (`deleted`) a member, department, customer or group: an
   * outbox event in the caller's transaction, named like a rename (`old`: the name it had when
   * deleted, `new`: its name when added). Added: a row first described, or described again after
   * it was deleted (a customer or group: after it was not described). Deleted: a member or
   * department WeCom deleted (an event, or absent from a full sync), a customer no member follows
   * any more, a group dismissed. The rows say so themselves, so no history row is written.
   */
  private async presence(trx: Trx, corpid: string, kind: DirEntityKind, id: string, change: 'added' | 'deleted', name: string | null, source: NameSource): Promise<void> {
    const now = this.now();
    await recordDirectoryChange(
      trx,
      this.dialect,
      corpid,
      { entityKind: kind, entityId: id, field: change, oldValue: change === 'deleted' ? name : null, newValue: change === 'added' ? name : null, source, changedAt: now },
      now,
    );
  }

  private async history(
    trx: Trx,
    corpid: string,
    kind: DirEntityKind,
    id: string,
    field: 'name' | 'userid',
    oldValue: string | null,
    newValue: string | null,
    source: NameSource,
  ): Promise<void> {
    await trx
      .insertInto('dir_name_history')
      .values({
        corpid,
        entity_kind: kind,
        entity_id: id.slice(0, 191),
        field,
        old_value: clip(oldValue) ?? null,
        new_value: clip(newValue) ?? null,
        source,
        changed_at: this.now(),
      })
      .execute();
    await recordDirectoryChange(
      trx,
      this.dialect,
      corpid,
      { entityKind: kind, entityId: id, field, oldValue: clip(oldValue) ?? null, newValue: clip(newValue) ?? null, source, changedAt: this.now() },
      this.now(),
    );
  }
}
