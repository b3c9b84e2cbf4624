import type { Kysely } from 'kysely';
import type { App } from '../../src/app/app.ts';
import type { Database } from '../../src/store/schema.ts';

/** Row counts of every table a corp registration (`corp import`, registerCorps) writes. */
export async function corpRowCounts(app: App): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of ['corps', 'cursors', 'key_versions', 'corp_api_settings', 'callback_apps'] as const) {
    const row = await app.store.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    counts[table] = Number(row.n);
  }
  return counts;
}

/** corpRowCounts of an archive with no corp registered. */
export const NO_CORP_ROWS = { corps: 0, cursors: 0, key_versions: 0, corp_api_settings: 0, callback_apps: 0 };

/** How many rows `table` holds for `corpid`, or for every corp when no corpid is given. */
export async function rowCount(db: Kysely<Database>, table: 'envelopes' | 'messages', corpid?: string): Promise<number> {
  let q = db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n'));
  if (corpid !== undefined) q = q.where('corpid', '=', corpid);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Registers `corpid` with an SDK that is never reached: for tests that put the corp's rows into the store directly. */
export async function addOfflineCorp(app: App, corpid: string): Promise<void> {
  await app.corps.add({ corpid, secret: 'archive-secret', sdk: { kind: 'simulator', url: 'http://127.0.0.1:9' }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 5 });
}
