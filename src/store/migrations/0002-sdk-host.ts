import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/** Restarts of native SDK host processes, for `status`. */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { longText, bigint } = d.types;
  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('sdk_host_restarts'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('lane', 'varchar(16)', (c) => c.notNull())
        .addColumn('cause', 'varchar(16)', (c) => c.notNull())
        .addColumn('signal', 'varchar(16)')
        .addColumn('exit_code', 'integer')
        .addColumn('operation', 'varchar(32)')
        .addColumn('rss_bytes', bigint)
        .addColumn('detail', longText, (c) => c.notNull())
        .addColumn('occurred_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('sdk_host_restarts_corp_idx').on('sdk_host_restarts').columns(['corpid', 'occurred_at']).execute();
}
