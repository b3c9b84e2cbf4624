import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDialect, type SqliteDatabase } from 'kysely';
import type { StoreDialect } from './dialect.ts';

/** SQLite through better-sqlite3: the embedded default, a file under the data directory. */
export function sqliteDialect(path: string): StoreDialect {
  return {
    name: 'sqlite',
    displayUrl: `sqlite:${path}`,
    createKyselyDialect() {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
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
      return new SqliteDialect({ database: withStatementCache(db) });
    },
    types: { longText: 'text', blob: 'blob', bigint: 'integer' },
    addIdColumn: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
    tableOptions: (table) => table,
    ignoreDuplicates: (query, keyColumns) =>
      query.onConflict((oc: any) => oc.columns(keyColumns).doNothing()) as typeof query,
  };
}

/**
 * Kysely prepares every query anew; on the ingest path the same few statements run thousands of
 * times a second, and preparing them was a fifth of the main thread's time. Statements are cached
 * by their SQL text (the connection is single and serialized by Kysely, so none is reused while busy).
 */
function withStatementCache(db: Database.Database, max = 256): SqliteDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) return stmt;
      stmt = db.prepare(sql);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
      return stmt;
    },
  } as unknown as SqliteDatabase;
}
