import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';
import { up as queueEveryMessage } from './0018-search-facets.ts';

/**
 * Index entries get ids that follow the message's time (store/dialects/time-ids.ts), so a search
 * reads them newest first and joins only the messages a page shows. Each dialect does it its own
 * way (SearchIndexSql.orderByTime): PostgreSQL and MariaDB fill a new column from the messages'
 * times; SQLite deletes its entries, and every message is queued for the index stage again, as
 * 0018 did. Until `run` or `reindex` has worked the queue off, searches there say how many
 * messages are not indexed yet.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  if (await d.search.orderByTime(db)) await queueEveryMessage(db, d);
}
