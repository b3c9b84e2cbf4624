import { Kysely, Migrator, sql } from 'kysely';
import { ArchiveError, ConfigError } from '../errors/errors.ts';
import { DatabaseHealth, describeDatabaseError } from './database-health.ts';
import { databaseKind } from './database-url.ts';
import type { StoreDialect } from './dialects/dialect.ts';
import { mysqlDialect } from './dialects/mysql.ts';
import { postgresDialect } from './dialects/postgres.ts';
import { sqliteDialect } from './dialects/sqlite.ts';
import { migrationsFor } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { watchedDialect } from './watched-dialect.ts';

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** whether the database answers, as every query of this store sees it */
  readonly health: DatabaseHealth;
  close(): Promise<void>;
}

/** The database could not be reached or opened: says which (password masked) and why. */
export class DatabaseUnreachableError extends ArchiveError {
  constructor(displayUrl: string, cause: unknown) {
    super('DATABASE_UNREACHABLE', `cannot reach the database ${displayUrl}: ${describeDatabaseError(cause)}`, { cause, httpStatus: 503 });
  }
}

/** Picks the dialect from a database URL: `sqlite:PATH`, `postgres://…`, `mysql://…`. */
export function dialectFromUrl(url: string): StoreDialect {
  const kind = databaseKind(url);
  if (kind === 'sqlite') {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!path) throw new ConfigError('database URL "sqlite:" needs a file path, e.g. sqlite:./data/archive.db');
    return sqliteDialect(path);
  }
  if (kind === 'postgres') return postgresDialect(url);
  if (kind === 'mysql') return mysqlDialect(url.replace(/^mariadb:/, 'mysql:'));
  throw new ConfigError(`database URL must start with sqlite:, postgres:// or mysql://, got "${url.split(':')[0]}:…"`);
}

/** Opens the store and, unless told not to, brings its schema up to date. */
export async function openStore(url: string, options: { migrate?: boolean } = {}): Promise<Store> {
  const dialect = dialectFromUrl(url);
  const health = new DatabaseHealth(dialect.displayUrl);
  const db = new Kysely<Database>({ dialect: watchedDialect(dialect.createKyselyDialect(), health) });
  health.setProbe(() => sql`select 1`.execute(db));
  const store: Store = {
    db,
    dialect,
    health,
    close: async () => {
      health.close();
      await db.destroy();
    },
  };
  try {
    // one plain query first: a server that cannot be reached is reported as that, not as a failed migration
    await sql`select 1`.execute(db).catch((err: unknown) => {
      throw new DatabaseUnreachableError(dialect.displayUrl, err);
    });
    if (options.migrate !== false) await migrateStore(store);
  } catch (err) {
    await store.close().catch(() => undefined);
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
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    // no migration ran: the migrator could not read or lock its own tables (the server went away?)
    if (failed === undefined)
      throw new ArchiveError('MIGRATION_FAILED', `could not migrate the database ${store.dialect.displayUrl}: ${describeDatabaseError(error)}`, { cause: error });
    throw new ArchiveError('MIGRATION_FAILED', `database migration ${failed} failed on ${store.dialect.displayUrl}: ${(error as Error).message ?? error}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
