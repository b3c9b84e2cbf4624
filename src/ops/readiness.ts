/**
 * Whether this archive is ready to do its work (`GET /readyz`), framework-free: the database
 * answers, every migration this build knows is applied (a process started against a database that
 * another, older or newer, build migrates is not ready), and at least one configured corp is being
 * pulled — its pull is not stopped on a configuration error and some process holds its pull lease.
 */
import { type Kysely, sql } from 'kysely';
import { liveHolder } from '../pull/pull-lease.ts';
import { describeDatabaseError } from '../store/database-health.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { migrationsFor } from '../store/migrations/index.ts';
import type { Database } from '../store/schema.ts';

export interface ReadinessCheck {
  readonly ok: boolean;
  /** what is wrong, when not ok; a few words an operator can act on */
  readonly detail?: string;
}

export interface Readiness {
  readonly ok: boolean;
  readonly checks: { readonly database: ReadinessCheck; readonly migrations: ReadinessCheck; readonly pulling: ReadinessCheck };
}

/** how long the database may take to answer before it counts as unreachable */
const READY_QUERY_MS = 2_000;

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Checks the three conditions; each failing one says why. Never throws. */
export async function readiness(db: Kysely<Database>, dialect: StoreDialect, now: number = Date.now()): Promise<Readiness> {
  const skipped: ReadinessCheck = { ok: false, detail: 'not checked: the database is unreachable' };
  let applied: string[];
  try {
    // Kysely's migrator keeps the applied names in kysely_migration: one query proves the database answers too
    const rows = await withDeadline(sql<{ name: string }>`select name from kysely_migration`.execute(db), READY_QUERY_MS);
    applied = rows.rows.map((r) => r.name);
  } catch (err) {
    const detail = `the database did not answer: ${describeDatabaseError(err)}`;
    return { ok: false, checks: { database: { ok: false, detail }, migrations: skipped, pulling: skipped } };
  }
  const database: ReadinessCheck = { ok: true };
  const missing = Object.keys(migrationsFor(dialect)).filter((name) => !applied.includes(name));
  const migrations: ReadinessCheck = missing.length === 0 ? { ok: true } : { ok: false, detail: `not applied: ${missing.join(', ')}` };
  let pulling: ReadinessCheck;
  try {
    const corps = await withDeadline(
      db
        .selectFrom('corps')
        .leftJoin('cursors', 'cursors.corpid', 'corps.corpid')
        .select(['corps.corpid', 'cursors.state', 'cursors.lease_owner', 'cursors.lease_until'])
        .execute(),
      READY_QUERY_MS,
    );
    const live = corps.filter((c) => c.state !== null && c.state !== 'stopped' && liveHolder(c, now) !== undefined);
    if (live.length > 0) pulling = { ok: true };
    else if (corps.length === 0) pulling = { ok: false, detail: 'no corp is configured (corp add)' };
    else {
      // counts, not corp ids: /readyz answers whoever reaches the server (`status` names them)
      const stopped = corps.filter((c) => c.state === 'stopped').length;
      pulling = { ok: false, detail: `none of ${corps.length} corp(s) is being pulled${stopped > 0 ? `; ${stopped} stopped on a configuration error (see status)` : ''}` };
    }
  } catch (err) {
    pulling = { ok: false, detail: `could not read the corps: ${describeDatabaseError(err)}` };
  }
  return { ok: database.ok && migrations.ok && pulling.ok, checks: { database, migrations, pulling } };
}
