import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Media jobs: one row per sdkfileid of a stored message, created in the same transaction
 * as the message (decrypt-stage.ts). The row carries the download's resume point (index token and
 * bytes committed after every chunk), its state, the verified digests and where the bytes went.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { longText, bigint } = d.types;
  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('media'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
        .addColumn('slot', 'integer', (c) => c.notNull())
        .addColumn('msgtype', 'varchar(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('path', 'varchar(255)', (c) => c.notNull())
        .addColumn('sdkfileid', longText, (c) => c.notNull())
        .addColumn('md5_expected', 'varchar(32)')
        .addColumn('size_expected', bigint)
        .addColumn('file_name', longText)
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('index_token', 'varchar(1024)', (c) => c.notNull())
        .addColumn('bytes_done', bigint, (c) => c.notNull())
        .addColumn('partial_id', 'varchar(32)')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('next_try_at', bigint, (c) => c.notNull())
        .addColumn('lease_owner', 'varchar(64)')
        .addColumn('lease_until', bigint)
        .addColumn('error_code', 'integer')
        .addColumn('error', longText)
        .addColumn('sha256', 'char(64)')
        .addColumn('md5', 'char(32)')
        .addColumn('size', bigint)
        .addColumn('content_type', 'varchar(128)')
        .addColumn('storage_key', 'varchar(512)')
        .addColumn('voice_format', 'varchar(16)')
        .addColumn('converted_key', 'varchar(512)')
        .addColumn('converted_type', 'varchar(64)')
        .addColumn('convert_error', longText)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('finished_at', bigint),
    )
    .execute();
  // one job per reference: redoing a decrypt batch never duplicates (docs/design.md rule 2)
  await db.schema.createIndex('media_ref_uq').on('media').columns(['corpid', 'msgid', 'slot']).unique().execute();
  await db.schema.createIndex('media_claim_idx').on('media').columns(['corpid', 'state', 'next_try_at']).execute();
  await db.schema.createIndex('media_sha_idx').on('media').columns(['sha256']).execute();
}
