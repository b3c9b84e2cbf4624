/**
 * How fresh and complete each corp's directory is, for `status` and the HTTP status endpoint:
 * counts, groups WeCom cannot describe, ids still unresolved (and why), and when each sync part
 * last succeeded or why it failed (a missing secret says which command fixes it).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import type { SyncPart } from './directory-sync.ts';

export interface DirectoryPartStatus {
  part: SyncPart;
  lastSuccessAt: number | null;
  lastStartedAt: number | null;
  lastErrorCode: number | null;
  lastError: string | null;
  items: number | null;
  durationMs: number | null;
}

export interface DirectoryStatus {
  members: number;
  departments: number;
  externalContacts: number;
  groups: number;
  undescribableGroups: number;
  dismissedGroups: number;
  robots: number;
  /** ids seen in messages or named by events that are not described yet */
  unresolved: { pending: number; gaveUp: number; latest: Array<{ kind: string; id: string; code: number | null; error: string | null }> };
  parts: DirectoryPartStatus[];
}

export function emptyDirectoryStatus(): DirectoryStatus {
  return {
    members: 0,
    departments: 0,
    externalContacts: 0,
    groups: 0,
    undescribableGroups: 0,
    dismissedGroups: 0,
    robots: 0,
    unresolved: { pending: 0, gaveUp: 0, latest: [] },
    parts: [],
  };
}

export async function directoryStatuses(db: Kysely<Database>): Promise<Map<string, DirectoryStatus>> {
  const [members, departments, externals, robots, groups, queue, parts] = await Promise.all([
    db
      .selectFrom('dir_members')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .where('deleted_at', 'is', null)
      .where('renamed_to', 'is', null)
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('dir_departments')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .where('deleted_at', 'is', null)
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('dir_external_contacts')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('dir_robots')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('dir_groups')
      .select(['corpid', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'status'])
      .execute(),
    db
      .selectFrom('dir_refresh_queue')
      .select(['corpid', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'state'])
      .execute(),
    db.selectFrom('dir_sync_state').selectAll().orderBy('corpid').orderBy('part').execute(),
  ]);
  const out = new Map<string, DirectoryStatus>();
  const of = (corpid: string): DirectoryStatus => {
    let s = out.get(corpid);
    if (!s) out.set(corpid, (s = emptyDirectoryStatus()));
    return s;
  };
  for (const r of members) of(r.corpid).members = Number(r.n);
  for (const r of departments) of(r.corpid).departments = Number(r.n);
  for (const r of externals) of(r.corpid).externalContacts = Number(r.n);
  for (const r of robots) of(r.corpid).robots = Number(r.n);
  for (const r of groups) {
    const s = of(r.corpid);
    s.groups += Number(r.n);
    if (r.status === 'undescribable') s.undescribableGroups += Number(r.n);
    if (r.status === 'dismissed') s.dismissedGroups += Number(r.n);
  }
  for (const r of queue) {
    const s = of(r.corpid);
    if (r.state === 'gave_up') s.unresolved.gaveUp += Number(r.n);
    else s.unresolved.pending += Number(r.n);
  }
  for (const p of parts) {
    of(p.corpid).parts.push({
      part: p.part,
      lastSuccessAt: p.last_success_at === null ? null : Number(p.last_success_at),
      lastStartedAt: p.last_started_at === null ? null : Number(p.last_started_at),
      lastErrorCode: p.last_error_code,
      lastError: p.last_error,
      items: p.items,
      durationMs: p.duration_ms === null ? null : Number(p.duration_ms),
    });
  }
  for (const [corpid, s] of out) {
    if (s.unresolved.gaveUp + s.unresolved.pending === 0) continue;
    const rows = await db
      .selectFrom('dir_refresh_queue')
      .select(['entity_kind', 'entity_id', 'last_error_code', 'last_error'])
      .where('corpid', '=', corpid)
      .where('last_error', 'is not', null)
      .orderBy('updated_at', 'desc')
      .limit(5)
      .execute();
    s.unresolved.latest = rows.map((r) => ({ kind: r.entity_kind, id: r.entity_id, code: r.last_error_code, error: r.last_error }));
  }
  return out;
}
