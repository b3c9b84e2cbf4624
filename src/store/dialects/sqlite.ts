import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDialect } from 'kysely';
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
      db.pragma('foreign_keys = ON');
      return new SqliteDialect({ database: db });
    },
    types: { longText: 'text', blob: 'blob', bigint: 'integer' },
    addIdColumn: (table) => table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement()),
    tableOptions: (table) => table,
    ignoreDuplicates: (query, keyColumns) =>
      query.onConflict((oc: any) => oc.columns(keyColumns).doNothing()) as typeof query,
  };
}
