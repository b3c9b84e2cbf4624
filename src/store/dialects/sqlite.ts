import { closeSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDialect, type SqliteDatabase, sql } from 'kysely';
import { makePrivateDir } from '../../config/private-dir.ts';
import { ConfigError } from '../../errors/errors.ts';
import { sqliteSearch } from './sqlite-search.ts';
import { errorCodes, type StoreDialect } from './dialect.ts';

/** SQLite through better-sqlite3: the embedded default, a file under the data directory. */
export function sqliteDialect(path: string): StoreDialect {
  // the one connection Kysely serializes (SqliteDialect has a single connection and a mutex)
  let connection: CachedDatabase | undefined;
  return {
    name: 'sqlite',
    displayUrl: `sqlite:${path}`,
    createKyselyDialect() {
      if (path !== ':memory:') createPrivateFile(path);
      const db = new Database(path);
      // WAL: readers never block the writer; NORMAL sync is durable across process crashes
      // (SIGKILL), and a power cut can only drop whole recent transactions, never split one.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 10000');
      // Ingest writes tens of MB a minute: a larger page cache keeps index pages hot, and fewer,
      // larger checkpoints cost fewer fsyncs (each checkpoint syncs the database file).
      db.pragma('cache_size = -65536');
      db.pragma('wal_autocheckpoint = 16384');
      db.pragma('foreign_keys = ON');
      connection = withStatementCache(db);
      return new SqliteDialect({ database: connection as unknown as SqliteDatabase });
    },
    types: { longText: 'text', blob: 'blob', bigint: 'integer' },
    addIdColumn: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
    tableOptions: (table) => table,
    ignoreDuplicates: (query, keyColumns) => query.onConflict((oc: any) => oc.columns(keyColumns).doNothing()) as typeof query,
    async insertIgnoring(trx, table, rows, keyColumns) {
      if (rows.length === 0) return 0;
      if (!trx.isTransaction || connection === undefined || !connection.inTransaction) {
        throw new Error('insertIgnoring runs inside a transaction of this store');
      }
      // Inside the caller's transaction Kysely's mutex gives this transaction the only connection, so
      // the rows go straight to it, synchronously: no promise, no query building per row.
      const columns = Object.keys(rows[0]!);
      const statement = connection.prepare(singleRowInsert(table, columns, keyColumns));
      const params: unknown[] = new Array(columns.length);
      let inserted = 0;
      for (const row of rows) {
        const record = row as Record<string, unknown>;
        if (Object.keys(record).length !== columns.length) throw new Error(`insertIgnoring(${table}): rows of different shapes`);
        for (let c = 0; c < columns.length; c++) params[c] = record[columns[c]!] ?? null;
        inserted += statement.run(params).changes;
      }
      return inserted;
    },
    // better-sqlite3 reports changes(), which counts every row the WHERE matched
    updateCounts: 'matched rows',
    readsQueuedByTime: false,
    // SQLITE_BUSY_SNAPSHOT: a transaction that read, then found another process had written since
    isLockConflict: (err) => {
      const { code } = errorCodes(err);
      return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT';
    },
    async lockForWrite(trx, table) {
      await sql`DELETE FROM ${sql.table(table)} WHERE 0`.execute(trx);
    },
    whereNotNullIfPartial: (index, column) => index.where(column, 'is not', null),
    forUpdateSkipLocked: (query) => query,
    search: sqliteSearch,
  };
}

/**
 * The database holds decrypted chats: a new file is created 0600 in a directory created 0700 before
 * SQLite opens it, and SQLite gives its -wal and -shm files the database file's mode. An existing
 * file keeps its mode (the user may have chosen it).
 */
function createPrivateFile(path: string): void {
  makePrivateDir(dirname(path), 'directory of the SQLite database');
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new ConfigError(`cannot open the SQLite database ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

/**
 * One single-row INSERT, prepared once (statement cache) and run once per row: SQLite is in-process,
 * so a row costs no round trip, and no hundred-row statement is built, parsed and prepared for every
 * chunk, which was a third of ingest's writing time.
 */
function singleRowInsert(table: string, columns: readonly string[], keyColumns: readonly string[]): string {
  const quote = (name: string) => {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a column name: ${JSON.stringify(name)}`);
    return `"${name}"`;
  };
  return `insert into ${quote(table)} (${columns.map(quote).join(', ')}) values (${columns.map(() => '?').join(', ')}) on conflict (${keyColumns.map(quote).join(', ')}) do nothing`;
}

interface CachedDatabase {
  close(): void;
  prepare(sql: string): Database.Statement;
  readonly inTransaction: boolean;
}

/**
 * Kysely prepares every query anew; on the ingest path the same few statements run thousands of
 * times a second, and preparing them was a fifth of the main thread's time. Statements are cached
 * by their SQL text (the connection is single and serialized by Kysely, so none is reused while busy).
 */
function withStatementCache(db: Database.Database, max = 256): CachedDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    get inTransaction() {
      return db.inTransaction;
    },
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) return stmt;
      stmt = db.prepare(sql);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
      return stmt;
    },
  };
}
