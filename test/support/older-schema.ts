import { type Kysely, Migrator } from 'kysely';
import { migrationsFor } from '../../src/store/migrations/index.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';

/**
 * A store at `url` migrated only up to the migration `last` (its name), for tests of what a later
 * migration does to data written under an older schema. `db` sees the tables untyped, as they were.
 */
export async function openStoreMigratedTo(url: string, last: string): Promise<{ store: Store; db: Kysely<any> }> {
  const store = await openStore(url, { migrate: false });
  const migrations = migrationsFor(store.dialect);
  const { error } = await new Migrator({ db: store.db, provider: { getMigrations: async () => migrations } }).migrateTo(last);
  if (error) {
    await store.close();
    throw error;
  }
  return { store, db: store.db as unknown as Kysely<any> };
}
