import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Callbacks and the directory: WeCom API settings per corp, callback configurations,
 * the callback inbox, and the directory of members, departments, tags, external contacts, groups,
 * robots, consent and WeCom's callback IP list, with the name history and the refresh queue.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { longText, bigint } = d.types;
  const NAME = 'varchar(1024)';
  const ID = 'varchar(191)';

  // The contacts and customer-contact secrets, sealed; api_base null = the default for the corp's sdk.
  await d
    .tableOptions(
      db.schema
        .createTable('corp_api_settings')
        .addColumn('corpid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('api_base', 'varchar(1024)')
        .addColumn('contacts_secret_sealed', longText)
        .addColumn('customer_secret_sealed', longText)
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('callback_apps')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('app', 'varchar(64)', (c) => c.notNull())
        .addColumn('token_sealed', longText, (c) => c.notNull())
        .addColumn('aes_key_sealed', longText, (c) => c.notNull())
        .addColumn('receive_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('callback_apps_pk', ['corpid', 'app']),
    )
    .execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('callback_inbox'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('app', 'varchar(64)', (c) => c.notNull())
        .addColumn('dedup_key', 'char(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('event', 'varchar(64)')
        .addColumn('change_type', 'varchar(64)')
        .addColumn('body', longText, (c) => c.notNull())
        .addColumn('remote_addr', 'varchar(64)')
        .addColumn('event_time', bigint)
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', bigint, (c) => c.notNull())
        .addColumn('lease_owner', 'varchar(64)')
        .addColumn('lease_until', bigint)
        .addColumn('last_error', longText)
        .addColumn('received_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('done_at', bigint),
    )
    .execute();
  await db.schema.createIndex('callback_inbox_dedup_idx').unique().on('callback_inbox').columns(['corpid', 'dedup_key']).execute();
  await db.schema.createIndex('callback_inbox_state_idx').on('callback_inbox').columns(['state', 'next_attempt_at']).execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_departments')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('dept_id', bigint, (c) => c.notNull())
        .addColumn('name', NAME)
        .addColumn('name_en', NAME)
        .addColumn('parent_id', bigint)
        .addColumn('sort_order', bigint)
        .addColumn('deleted_at', bigint)
        .addColumn('synced_at', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_departments_pk', ['corpid', 'dept_id']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_members')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('userid', ID, (c) => c.notNull())
        .addColumn('name', NAME)
        .addColumn('alias', NAME)
        .addColumn('position', NAME)
        .addColumn('departments', longText)
        .addColumn('main_department', bigint)
        .addColumn('status', 'integer')
        .addColumn('renamed_to', ID)
        .addColumn('deleted_at', bigint)
        .addColumn('synced_at', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_members_pk', ['corpid', 'userid']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_tags')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('tag_id', bigint, (c) => c.notNull())
        .addColumn('name', NAME)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_tags_pk', ['corpid', 'tag_id']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_tag_members')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('tag_id', bigint, (c) => c.notNull())
        .addColumn('member_kind', 'varchar(8)', (c) => c.notNull())
        .addColumn('member_id', ID, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_tag_members_pk', ['corpid', 'tag_id', 'member_kind', 'member_id']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_external_contacts')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('external_userid', ID, (c) => c.notNull())
        .addColumn('name', NAME)
        .addColumn('type', 'integer')
        .addColumn('corp_name', NAME)
        .addColumn('corp_full_name', NAME)
        .addColumn('position', NAME)
        .addColumn('follow_users', longText)
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('last_error_code', 'integer')
        .addColumn('last_error', longText)
        .addColumn('synced_at', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_external_contacts_pk', ['corpid', 'external_userid']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_groups')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('roomid', ID, (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('name', NAME)
        .addColumn('owner', ID)
        .addColumn('notice', longText)
        .addColumn('create_time', bigint)
        .addColumn('member_count', 'integer')
        .addColumn('members', longText)
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('last_error_code', 'integer')
        .addColumn('last_error', longText)
        .addColumn('synced_at', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_groups_pk', ['corpid', 'roomid']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_robots')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('robot_id', ID, (c) => c.notNull())
        .addColumn('name', NAME)
        .addColumn('creator_userid', ID)
        .addColumn('synced_at', bigint)
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_robots_pk', ['corpid', 'robot_id']),
    )
    .execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('dir_name_history'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('entity_kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('entity_id', ID, (c) => c.notNull())
        .addColumn('field', 'varchar(16)', (c) => c.notNull())
        .addColumn('old_value', NAME)
        .addColumn('new_value', NAME)
        .addColumn('source', 'varchar(16)', (c) => c.notNull())
        .addColumn('changed_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('dir_name_history_entity_idx').on('dir_name_history').columns(['corpid', 'entity_kind', 'entity_id']).execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_consent')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('scope', 'varchar(8)', (c) => c.notNull())
        .addColumn('scope_id', ID, (c) => c.notNull())
        .addColumn('external_id', ID, (c) => c.notNull())
        .addColumn('status', 'varchar(32)', (c) => c.notNull())
        .addColumn('status_change_time', bigint)
        .addColumn('source', 'varchar(16)', (c) => c.notNull())
        .addColumn('checked_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_consent_pk', ['corpid', 'scope', 'scope_id', 'external_id']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_permit_users')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('userid', ID, (c) => c.notNull())
        .addColumn('synced_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_permit_users_pk', ['corpid', 'userid']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_refresh_queue')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('entity_kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('entity_id', 'varchar(400)', (c) => c.notNull())
        .addColumn('reason', 'varchar(32)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', bigint, (c) => c.notNull())
        .addColumn('last_error_code', 'integer')
        .addColumn('last_error', longText)
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_refresh_queue_pk', ['corpid', 'entity_kind', 'entity_id']),
    )
    .execute();
  await db.schema.createIndex('dir_refresh_queue_due_idx').on('dir_refresh_queue').columns(['corpid', 'state', 'next_attempt_at']).execute();

  await d
    .tableOptions(
      db.schema
        .createTable('dir_sync_state')
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('part', 'varchar(32)', (c) => c.notNull())
        .addColumn('last_started_at', bigint)
        .addColumn('last_success_at', bigint)
        .addColumn('last_error_code', 'integer')
        .addColumn('last_error', longText)
        .addColumn('items', 'integer')
        .addColumn('duration_ms', bigint)
        .addColumn('watermark', 'varchar(64)')
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('dir_sync_state_pk', ['corpid', 'part']),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('callback_ip_list')
        .addColumn('entry', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('source_corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('fetched_at', bigint, (c) => c.notNull()),
    )
    .execute();
}
