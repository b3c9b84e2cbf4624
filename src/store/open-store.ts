import { Kysely, Migrator } from 'kysely';
import { ArchiveError, ConfigError } from '../errors/errors.ts';
import type { StoreDialect } from './dialects/dialect.ts';
import { mysqlDialect } from './dialects/mysql.ts';
import { postgresDialect } from './dialects/postgres.ts';
import { sqliteDialect } from './dialects/sqlite.ts';
import { migrationsFor } from './migrations/index.ts';
import type { Database } from './schema.ts';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  close(): Promise<void>;
}

/** Picks the dialect from a database URL: `sqlite:PATH`, `postgres://…`, `mysql://…`. */
export function dialectFromUrl(url: string): StoreDialect {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new ConfigError('database URL "sqlite:" needs a file path, e.g. sqlite:./data/archive.db');
    return sqliteDialect(path);
  }
  if (/^postgres(ql)?:\/\//.test(url)) return postgresDialect(url);
  if (/^(mysql|mariadb):\/\//.test(url)) return mysqlDialect(url.replace(/^mariadb:/, 'mysql:'));
  throw new ConfigError(`database URL must start with sqlite:, postgres:// or mysql://, got "${url.split(':')[0]}:…"`);
}

/** Opens the store and, unless told not to, brings its schema up to date. */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  const dialect = dialectFromUrl(url);
  const db = new Kysely<Database>({ dialect: dialect.createKyselyDialect() });
  const store: Store = { db, dialect, close: () => db.destroy() };
  try {
    if (options.migrate !== false) await migrateStore(store);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    throw err;
  }
  return store;
}

/** Applies pending migrations; returns the names applied. */
export async function migrateStore(store: Store): Promise<string[]> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrationsFor(store.dialect) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new ArchiveError('MIGRATION_FAILED', `database migration ${failed} failed on ${store.dialect.displayUrl}: ${(error as Error).message ?? error}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
