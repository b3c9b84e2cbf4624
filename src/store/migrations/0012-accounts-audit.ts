import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Who may read the archive, and the trace of what they read.
 *
 * - `users`: accounts with an argon2id password hash (never the password), a role, the lockout
 *   counter, and an optional WeCom binding (corp + userid) for signing in with WeCom.
 * - `grants`: what a user may read besides its role (a corp, a department, a conversation) and the
 *   viewer's export right. Columns a kind does not use hold '' or 0, not NULL, so the unique index
 *   refuses a grant given twice on every database (NULLs never collide in a unique index).
 * - `sessions` and `api_tokens` keep only the SHA-256 of their random secret: a copy of the database
 *   signs no one in.
 * - `settings`: the few access settings an admin changes at run time (require_reason, timeouts).
 * - `audit_log`: append-only; `id` is given by the writer from `audit_head`, which each append
 *   locks first, so appends from several processes form one chain that never forks, and `audit_head`
 *   also tells when rows at the end were cut off.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { bigint, longText } = d.types;
  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('users'))
        .addColumn('username', 'varchar(64)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', bigint)
        .addColumn('wecom_corpid', 'varchar(64)')
        .addColumn('wecom_userid', 'varchar(64)')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('users_username_uq').on('users').column('username').unique().execute();
  await db.schema.createIndex('users_wecom_uq').on('users').columns(['wecom_corpid', 'wecom_userid']).unique().execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('grants'))
        .addColumn('user_id', bigint, (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull().defaultTo(''))
        .addColumn('department_id', bigint, (c) => c.notNull().defaultTo(0))
        .addColumn('conversation', 'varchar(400)', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('grants_uq').on('grants').columns(['user_id', 'kind', 'corpid', 'department_id', 'conversation']).unique().execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('sessions'))
        .addColumn('user_id', bigint, (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('last_seen', bigint, (c) => c.notNull())
        .addColumn('idle_ms', bigint, (c) => c.notNull())
        .addColumn('expires_at', bigint, (c) => c.notNull())
        .addColumn('revoked_at', bigint)
        .addColumn('ip', 'varchar(64)')
        .addColumn('user_agent', 'varchar(255)'),
    )
    .execute();
  await db.schema.createIndex('sessions_token_uq').on('sessions').column('token_hash').unique().execute();
  await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('api_tokens'))
        .addColumn('user_id', bigint, (c) => c.notNull())
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('expires_at', bigint)
        .addColumn('revoked_at', bigint)
        .addColumn('last_used', bigint),
    )
    .execute();
  await db.schema.createIndex('api_tokens_hash_uq').on('api_tokens').column('token_hash').unique().execute();
  await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').column('user_id').execute();

  await d
    .tableOptions(
      db.schema
        .createTable('settings')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('value', 'varchar(255)', (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      db.schema
        .createTable('audit_log')
        .addColumn('id', bigint, (c) => c.primaryKey())
        .addColumn('at', bigint, (c) => c.notNull())
        .addColumn('user_id', bigint)
        .addColumn('username', 'varchar(191)', (c) => c.notNull())
        .addColumn('role', 'varchar(16)')
        .addColumn('action', 'varchar(64)', (c) => c.notNull())
        .addColumn('corpid', 'varchar(64)')
        .addColumn('conversation', 'varchar(400)')
        .addColumn('query', longText)
        .addColumn('items', 'integer')
        .addColumn('reason', 'varchar(1000)')
        .addColumn('ip', 'varchar(64)')
        .addColumn('user_agent', 'varchar(512)')
        .addColumn('request_id', 'varchar(128)')
        .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_user_idx').on('audit_log').columns(['user_id', 'at']).execute();

  await d
    .tableOptions(
      db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('last_id', bigint, (c) => c.notNull())
        .addColumn('last_hash', 'varchar(64)', (c) => c.notNull()),
    )
    .execute();
  await db
    .insertInto('audit_head')
    .values({ id: 1, last_id: 0, last_hash: '0'.repeat(64) })
    .execute();
}
