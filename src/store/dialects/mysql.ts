import { MysqlDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import { mysqlSearch } from './mysql-search.ts';
import { errorCodes, insertInChunks, redactUrl, type StoreDialect } from './dialect.ts';

/** MySQL / MariaDB through mysql2, for sites that already run MySQL. */
export function mysqlDialect(url: string): StoreDialect {
  return {
    name: 'mysql',
    displayUrl: redactUrl(url),
    createKyselyDialect() {
      return new MysqlDialect({
        pool: createPool({
          uri: url,
          connectionLimit: 8,
          charset: 'utf8mb4',
          // Refuse silent truncation: a value that does not fit is an error, not a shorter value.
          // BIGINT columns hold times and counts only (seq is text), so numbers are exact.
          supportBigNumbers: true,
          bigNumberStrings: false,
          dateStrings: true,
          // an UPDATE counts the rows it matched, not only those it changed (StoreDialect.updateCounts)
          flags: ['FOUND_ROWS'],
        }).on('connection', (conn) => {
          // A connection that breaks (server restart, network) emits 'error' more than once when
          // queries were waiting on it; the pool listens only for the first, and an unheard one
          // crashes the process. Each query on it fails on its own and its loop waits for the
          // database (database-health.ts), so the event says nothing new.
          conn.on('error', () => undefined);
          // the callback hears a failure: the next query on this connection fails and says why
          conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'", () => undefined);
        }),
      });
    },
    types: { longText: sql`longtext`, blob: sql`longblob`, bigint: 'bigint' },
    addIdColumn: (table) => table.addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement()),
    // utf8mb4_bin: msgids and userids are case-sensitive; a case-insensitive collation would make
    // two different msgids collide and lose a message.
    tableOptions: (table) => table.modifyEnd(sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`),
    // ON DUPLICATE KEY UPDATE with a no-op, not INSERT IGNORE: IGNORE would also turn real errors
    // (data too long, bad values) into warnings. The no-op names the column with its table: in an
    // INSERT … SELECT a bare name could also be the SELECT's column, and MySQL refuses it as ambiguous.
    ignoreDuplicates: (query, keyColumns) => {
      const key = `${query.toOperationNode().into!.table.identifier.name}.${keyColumns[0]!}`;
      return query.onDuplicateKeyUpdate({ [keyColumns[0]!]: sql.ref(key) } as any) as typeof query;
    },
    insertIgnoring(trx, table, rows, keyColumns) {
      return insertInChunks(this, trx, table, rows, keyColumns);
    },
    updateCounts: 'matched rows',
    readsQueuedByTime: false,
    isLockConflict(err) {
      // 1213 deadlock, 1205 lock wait timeout
      const { code, errno } = errorCodes(err);
      return errno === 1213 || errno === 1205 || code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
    },
    whereNotNullIfPartial: (index) => index,
    forUpdateSkipLocked: (query) => query.forUpdate().skipLocked() as typeof query,
    lockForWrite: async () => undefined,
    search: mysqlSearch,
  };
}
