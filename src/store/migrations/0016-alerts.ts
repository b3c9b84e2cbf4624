import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Alert incidents (ops/alerts): one row per rule and corp, whose state the evaluators move between
 * firing and resolved with compare-and-set updates, and which remembers what was last sent, so an
 * incident is announced once, and once resolved, across restarts and by one process of many (the
 * sender takes the row's lease). alert_sends logs every message sent, for the global cap.
 *
 * Also a covering index of messages by corp and msgtype: /metrics counts messages by type on each
 * snapshot, and on 100k messages in SQLite the index makes that count about five times faster than
 * reading the table (bench/metrics.ts).
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const bigint = d.types.bigint;
  await d
    .tableOptions(
      db.schema
        .createTable('alert_incidents')
        .addColumn('rule', 'varchar(32)', (c) => c.notNull())
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('incident', 'integer', (c) => c.notNull())
        .addColumn('detail', 'varchar(1024)', (c) => c.notNull())
        .addColumn('opened_at', bigint, (c) => c.notNull())
        .addColumn('resolved_at', bigint)
        .addColumn('notified', 'varchar(16)', (c) => c.notNull())
        .addColumn('last_sent_at', bigint)
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('next_try_at', bigint, (c) => c.notNull())
        .addColumn('lease_owner', 'varchar(64)')
        .addColumn('lease_until', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('alert_incidents_pk', ['rule', 'corpid']),
    )
    .execute();
  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('alert_sends'))
        .addColumn('rule', 'varchar(32)', (c) => c.notNull())
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('incident', 'integer', (c) => c.notNull())
        .addColumn('sent_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('alert_sends_time_idx').on('alert_sends').columns(['sent_at']).execute();
  await db.schema.createIndex('messages_type_idx').on('messages').columns(['corpid', 'msgtype', 'known_type']).execute();
}
