import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The event stream out (src/outbox/): the sinks events go to, the outbox of events written in the
 * transaction of what they report, a per-corp counter that orders them, each sink's delivery
 * position (a leased row: one process delivers a sink at a time, in order), and the events a sink
 * gave up on (dead letters) until they are replayed.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { longText, bigint } = d.types;
  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('sinks'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('type', 'varchar(16)', (c) => c.notNull())
        .addColumn('url', 'varchar(2048)', (c) => c.notNull())
        .addColumn('stream', 'varchar(255)')
        .addColumn('include_content', 'integer', (c) => c.notNull())
        .addColumn('secret_sealed', longText)
        .addColumn('disabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('sinks_corp_idx').on('sinks').columns(['corpid', 'disabled']).execute();

  await d
    .tableOptions(
      db.schema
        .createTable('event_counters')
        .addColumn('corpid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('last_seq', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('event_outbox'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', bigint, (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('ref', 'varchar(191)', (c) => c.notNull())
        .addColumn('payload', longText, (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('event_outbox_seq_uq').on('event_outbox').columns(['corpid', 'seq']).unique().execute();
  // one event per thing reported: a decrypt batch committed again adds nothing (docs/design.md rule 2)
  await db.schema.createIndex('event_outbox_ref_uq').on('event_outbox').columns(['corpid', 'kind', 'ref']).unique().execute();

  await d
    .tableOptions(
      db.schema
        .createTable('sink_cursors')
        .addColumn('sink_id', bigint, (c) => c.primaryKey())
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('delivered_seq', bigint, (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', bigint, (c) => c.notNull())
        .addColumn('last_error', longText)
        .addColumn('last_success_at', bigint)
        .addColumn('lease_owner', 'varchar(64)')
        .addColumn('lease_until', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('sink_dead_letters')
        .addColumn('sink_id', bigint, (c) => c.notNull())
        .addColumn('event_id', bigint, (c) => c.notNull())
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', bigint, (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('last_error', longText)
        .addColumn('dead_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('sink_dead_letters_pk', ['sink_id', 'event_id']),
    )
    .execute();
  await db.schema.createIndex('sink_dead_letters_event_idx').on('sink_dead_letters').columns(['event_id']).execute();
}
