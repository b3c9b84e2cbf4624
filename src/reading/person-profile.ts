/**
 * One member or external contact as the customer and member views show them: the directory's entry
 * and, for an external contact, the consent (同意存档) statuses WeCom reported. A caller sees a person
 * when its scope holds the corp's directory or a conversation the person takes part in; else the
 * person answers as missing, like an unknown id.
 */
import { type Kysely, sql } from 'kysely';
import type { ReadScope } from '../access/read-scope.ts';
import { conversationScope } from '../access/scope-sql.ts';
import { NotFoundError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { groupNames, personNames } from './directory-names.ts';
import { checkId } from './read-params.ts';

export interface ConsentView {
  /** 'single' (a one-to-one chat with a member) or 'room' (a group) */
  scope: string;
  /** the member's userid or the group's roomid */
  scopeId: string;
  /** the member's or the group's name in the directory; null when it has none */
  scopeName: string | null;
  /** Agree | Disagree | Default_Agree */
  status: string;
  changedAt: number | null;
}

export interface CustomerProfile {
  id: string;
  /** null when the directory does not describe it (yet) */
  name: string | null;
  /** 1 a WeChat user, 2 a WeCom user of another corp */
  type: number | null;
  corpName: string | null;
  position: string | null;
  consent: ConsentView[];
}

export interface MemberProfile {
  id: string;
  name: string | null;
  position: string | null;
  departments: number[];
  /** 1 active, 2 disabled, 4 inactive, 5 quit */
  status: number | null;
}

const personNotFound = () => new NotFoundError('PERSON_NOT_FOUND', 'no such member or external contact');

const wholeCorp = (scope: ReadScope, corpid: string) => scope.kind === 'everything' || scope.corps.includes(corpid);

/**
 * The conversations (key and roomid) of `corpid` in `scope` that `id` takes part in, at most `limit`:
 * what a caller with a narrower scope knows of the person.
 */
async function sharedConversations(db: Kysely<Database>, scope: ReadScope, corpid: string, id: string, limit: number) {
  return db
    .selectFrom('conversations as c')
    .select(['c.conversation_key', 'c.roomid'])
    .where('c.corpid', '=', corpid)
    .where(sql<boolean>`EXISTS (SELECT 1 FROM conversation_participants p WHERE p.corpid = c.corpid AND p.conversation_key = c.conversation_key AND p.userid = ${id})`)
    .where(await conversationScope(db, scope, corpid))
    .limit(limit)
    .execute();
}

/** The external contact `id` of `corpid` when `scope` may see it (see the module's comment); else NotFound. */
export async function customerProfile(db: Kysely<Database>, scope: ReadScope, corpid: string, id: string): Promise<CustomerProfile> {
  checkId(corpid, 'corpid', 64);
  checkId(id, 'customer', 191);
  const whole = wholeCorp(scope, corpid);
  const shared = whole ? [] : await sharedConversations(db, scope, corpid, id, 1000);
  if (!whole && shared.length === 0) throw personNotFound();
  const row = await db
    .selectFrom('dir_external_contacts')
    .select(['name', 'type', 'corp_name', 'position'])
    .where('corpid', '=', corpid)
    .where('external_userid', '=', id)
    .executeTakeFirst();
  if (!row && whole && (await sharedConversations(db, scope, corpid, id, 1)).length === 0) throw personNotFound();
  let consent = await db
    .selectFrom('dir_consent')
    .select(['scope', 'scope_id', 'status', 'status_change_time'])
    .where('corpid', '=', corpid)
    .where('external_id', '=', id)
    .orderBy('scope')
    .orderBy('scope_id')
    .limit(1000)
    .execute();
  if (!whole) {
    // a narrower scope sees the statuses of its own conversations only: the members and groups in them
    const visible = new Set<string>();
    const participants = await db
      .selectFrom('conversation_participants')
      .select('userid')
      .where('corpid', '=', corpid)
      .where(
        'conversation_key',
        'in',
        shared.map((c) => c.conversation_key),
      )
      .execute();
    for (const p of participants) visible.add(p.userid);
    for (const c of shared) if (c.roomid !== '') visible.add(c.roomid);
    consent = consent.filter((c) => visible.has(c.scope_id));
  }
  const members = await personNames(
    db,
    corpid,
    consent.filter((c) => c.scope === 'single').map((c) => c.scope_id),
  );
  const groups = await groupNames(
    db,
    corpid,
    consent.filter((c) => c.scope === 'room').map((c) => c.scope_id),
  );
  return {
    id,
    name: row?.name ?? null,
    type: row?.type === null || row?.type === undefined ? null : Number(row.type),
    corpName: row?.corp_name ?? null,
    position: row?.position ?? null,
    consent: consent.map((c) => ({
      scope: c.scope,
      scopeId: c.scope_id,
      scopeName: (c.scope === 'room' ? groups.get(c.scope_id) : members.get(c.scope_id)) ?? null,
      status: c.status,
      changedAt: c.status_change_time === null ? null : Number(c.status_change_time),
    })),
  };
}

/** The member `id` of `corpid` when `scope` may see it (see the module's comment); else NotFound. */
export async function memberProfile(db: Kysely<Database>, scope: ReadScope, corpid: string, id: string): Promise<MemberProfile> {
  checkId(corpid, 'corpid', 64);
  checkId(id, 'member', 191);
  const whole = wholeCorp(scope, corpid);
  if (!whole && (await sharedConversations(db, scope, corpid, id, 1)).length === 0) throw personNotFound();
  const row = await db.selectFrom('dir_members').select(['name', 'position', 'departments', 'status']).where('corpid', '=', corpid).where('userid', '=', id).executeTakeFirst();
  if (!row && whole && (await sharedConversations(db, scope, corpid, id, 1)).length === 0) throw personNotFound();
  return {
    id,
    name: row?.name ?? null,
    position: row?.position ?? null,
    departments: departmentsOf(row?.departments ?? null),
    status: row?.status === null || row?.status === undefined ? null : Number(row.status),
  };
}

/** dir_members.departments holds JSON.stringify(number[]); anything else reads as none. */
function departmentsOf(json: string | null): number[] {
  if (json === null) return [];
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) ? value.filter((d): d is number => Number.isSafeInteger(d)) : [];
  } catch {
    return [];
  }
}
