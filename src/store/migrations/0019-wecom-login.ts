import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Sign in with WeCom: per corp, the self-built app (自建应用) whose OAuth2 the
 * archive uses: its agentid, its Secret (sealed like every other secret), the name shown on the
 * sign-in button, the archive's public address (the redirect_uri's base, whose host must be the
 * app's trusted domain, 可信域名) and, for a simulator or a gateway only, another base for the
 * authorize pages.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { longText, bigint } = d.types;
  await d
    .tableOptions(
      db.schema
        .createTable('wecom_login_apps')
        .addColumn('corpid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('agentid', 'varchar(16)', (c) => c.notNull())
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('secret_sealed', longText, (c) => c.notNull())
        .addColumn('public_url', 'varchar(512)', (c) => c.notNull())
        .addColumn('authorize_base', 'varchar(512)')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull()),
    )
    .execute();
}
