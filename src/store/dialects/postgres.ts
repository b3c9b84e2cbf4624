import { PostgresDialect } from 'kysely';
import pg from 'pg';
import { postgresSearch } from './postgres-search.ts';
import { errorCodes, insertInChunks, redactUrl, type StoreDialect } from './dialect.ts';

/** PostgreSQL through pg: production, and the engine for scale-out. */
export function postgresDialect(url: string): StoreDialect {
  return {
    name: 'postgres',
    displayUrl: redactUrl(url),
    createKyselyDialect() {
      // int8 arrives as text by default; our int8 columns are times in ms and counts, all far below
      // 2^53 (seq is stored as text, see seq-codec.ts), so numbers are exact. Scoped to this pool.
      const types = {
        getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')),
      };
      // a server that takes no connection (a dropped packet, not a refusal) fails a connect in 10 s
      const pool = new pg.Pool({ connectionString: url, max: 8, connectionTimeoutMillis: 10_000, types: types as pg.CustomTypesConfig });
      // A connection the server drops (restart, failover: 57P01) is reported as an 'error' event, on
      // the pool while idle and on the client itself while a query or transaction holds it; unheard,
      // either crashes the process. The pool replaces the connection; the query on it fails and its
      // loop waits for the database (database-health.ts), so the events themselves say nothing new.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => client.on('error', () => undefined));
      return new PostgresDialect({ pool });
    },
    types: { longText: 'text', blob: 'bytea', bigint: 'bigint' },
    addIdColumn: (table) => table.addColumn('id', 'bigserial', (c) => c.primaryKey()),
    tableOptions: (table) => table,
    ignoreDuplicates: (query, keyColumns) => query.onConflict((oc: any) => oc.columns(keyColumns).doNothing()) as typeof query,
    insertIgnoring(trx, table, rows, keyColumns) {
      return insertInChunks(this, trx, table, rows, keyColumns);
    },
    updateCounts: 'matched rows',
    readsQueuedByTime: true,
    isLockConflict(err) {
      // 40P01 deadlock detected, 40001 serialization failure
      const { code } = errorCodes(err);
      return code === '40P01' || code === '40001';
    },
    whereNotNullIfPartial: (index, column) => index.where(column, 'is not', null),
    forUpdateSkipLocked: (query) => query.forUpdate().skipLocked() as typeof query,
    lockForWrite: async () => undefined,
    search: postgresSearch,
  };
}
