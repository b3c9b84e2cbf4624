import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/** Corps, key vault, pull cursors, envelopes, messages and gaps. */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { longText, blob, bigint } = d.types;

  await d
    .tableOptions(
      db.schema
        .createTable('corps')
        .addColumn('corpid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('secret_sealed', longText, (c) => c.notNull())
        .addColumn('sdk', 'varchar(1024)', (c) => c.notNull())
        .addColumn('proxy', 'varchar(1024)')
        .addColumn('proxy_auth_sealed', longText)
        .addColumn('chat_limit', 'integer', (c) => c.notNull())
        .addColumn('timeout_s', 'integer', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('key_versions')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('private_key_sealed', longText, (c) => c.notNull())
        .addColumn('fingerprint', 'varchar(64)', (c) => c.notNull())
        .addColumn('bits', 'integer', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('key_versions_pk', ['corpid', 'version']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('cursors')
        .addColumn('corpid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('seq', 'char(20)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('last_error_code', 'integer')
        .addColumn('last_error', longText)
        .addColumn('last_pull_at', bigint)
        .addColumn('last_success_at', bigint)
        .addColumn('caught_up_at', bigint)
        .addColumn('newest_msgtime', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('envelopes')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
        .addColumn('seq', 'char(20)', (c) => c.notNull())
        .addColumn('publickey_ver', 'integer', (c) => c.notNull())
        .addColumn('encrypt_random_key', longText, (c) => c.notNull())
        .addColumn('encrypt_chat_msg', longText, (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('reason', 'varchar(32)')
        .addColumn('reason_code', 'integer')
        .addColumn('reason_detail', longText)
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('received_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('envelopes_pk', ['corpid', 'msgid']),
    )
    .execute();
  await db.schema.createIndex('envelopes_state_idx').on('envelopes').columns(['state', 'corpid', 'seq']).execute();

  await d
    .tableOptions(
      db.schema
        .createTable('messages')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
        .addColumn('seq', 'char(20)', (c) => c.notNull())
        .addColumn('action', 'varchar(16)', (c) => c.notNull())
        .addColumn('from_id', 'varchar(191)', (c) => c.notNull())
        .addColumn('tolist', longText, (c) => c.notNull())
        .addColumn('roomid', 'varchar(191)', (c) => c.notNull())
        .addColumn('msgtime', bigint, (c) => c.notNull())
        .addColumn('msgtype', 'varchar(64)', (c) => c.notNull())
        .addColumn('conversation_key', 'varchar(400)', (c) => c.notNull())
        .addColumn('is_external', 'integer', (c) => c.notNull())
        .addColumn('is_updown', 'integer', (c) => c.notNull())
        .addColumn('known_type', 'integer', (c) => c.notNull())
        .addColumn('pre_msgid', 'varchar(191)')
        .addColumn('raw', blob, (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('messages_pk', ['corpid', 'msgid']),
    )
    .execute();
  await db.schema.createIndex('messages_seq_idx').on('messages').columns(['corpid', 'seq']).execute();
  await db.schema.createIndex('messages_time_idx').on('messages').columns(['corpid', 'msgtime']).execute();
  await db.schema.createIndex('messages_conv_idx').on('messages').columns(['corpid', 'conversation_key', 'msgtime']).execute();
  // Only revoke messages carry pre_msgid: a partial index where the database has them.
  await d.whereNotNullIfPartial(db.schema.createIndex('messages_pre_idx').on('messages').columns(['corpid', 'pre_msgid']), 'pre_msgid').execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('gaps'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('after_seq', 'char(20)', (c) => c.notNull())
        .addColumn('next_seq', 'char(20)', (c) => c.notNull())
        .addColumn('detected_at', bigint, (c) => c.notNull())
        .addColumn('note', longText, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('gaps_corp_idx').on('gaps').columns(['corpid', 'detected_at']).execute();
}
