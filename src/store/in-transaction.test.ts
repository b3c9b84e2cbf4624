import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LOCK_CONFLICT_TRIES, transactionRetryingConflicts } from './in-transaction.ts';
import { openStore } from './open-store.ts';

const store = await openStore(`sqlite:${join(mkdtempSync(join(tmpdir(), 'wa-trx-')), 'archive.db')}`);
afterAll(() => store.close());

/** An error as SQLite's driver reports a lock it could not take. */
const busy = (): Error => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

it('runs a transaction refused for a lock conflict again, and its writes land once', async () => {
  let runs = 0;
  const value = await transactionRetryingConflicts(store.db, store.dialect, async (trx) => {
    runs += 1;
    await trx
      .insertInto('vault_checks')
      .values({ name: 'probe', check_value: `run ${runs}`, created_at: runs })
      .execute();
    if (runs < 3) throw busy();
    return 'done';
  });
  expect(value).toBe('done');
  expect(runs).toBe(3);
  // the two refused runs were rolled back: only the third's row is there
  const rows = await store.db.selectFrom('vault_checks').selectAll().execute();
  expect(rows.map((r) => r.check_value)).toEqual(['run 3']);
});

it('throws any other error at once, and a lock conflict after the last try', async () => {
  let runs = 0;
  await expect(transactionRetryingConflicts(store.db, store.dialect, async () => (runs++, Promise.reject(new Error('bad sql'))))).rejects.toThrow('bad sql');
  expect(runs).toBe(1);
  runs = 0;
  await expect(transactionRetryingConflicts(store.db, store.dialect, async () => (runs++, Promise.reject(busy())))).rejects.toThrow('database is locked');
  expect(runs).toBe(LOCK_CONFLICT_TRIES);
});
