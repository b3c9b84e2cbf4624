import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { type DatabaseHealth, markDatabaseError } from './database-health.ts';

/**
 * Wraps a Kysely dialect so that every connection taken and every query run tells `health` whether
 * the database answered. All loops of the process share that one view: the outage is logged once,
 * `/healthz` reports it, and loops wait for the database instead of each retrying on its own.
 */
export function watchedDialect(inner: Dialect, health: DatabaseHealth): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createDriver: () => new WatchedDriver(inner.createDriver(), health),
  };
}

/** `proof`: success means the server answered (a connection handed out by the pool proves nothing) */
async function observed<T>(health: DatabaseHealth, work: () => Promise<T>, proof = true): Promise<T> {
  const token = health.begin();
  try {
    const result = await work();
    if (proof) health.succeeded(token);
    return result;
  } catch (err) {
    markDatabaseError(err);
    health.failed(token, err);
    throw err;
  }
}

class WatchedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly health: DatabaseHealth,
  ) {}

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return observed(this.health, () => this.inner.executeQuery<R>(query));
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

class WatchedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly health: DatabaseHealth,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new WatchedConnection(await observed(this.health, () => this.inner.acquireConnection(), false), this.health);
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return observed(this.health, () => this.inner.beginTransaction(unwrap(connection), settings));
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return observed(this.health, () => this.inner.commitTransaction(unwrap(connection)));
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return observed(this.health, () => this.inner.rollbackTransaction(unwrap(connection)));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection));
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof WatchedConnection ? connection.inner : connection;
}
