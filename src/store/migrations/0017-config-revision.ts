import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The configuration's revision: one row whose counter every change of corps, keys or callback apps
 * raises in its own transaction (store/config-revision.ts). Running processes read it every poll
 * interval, a single-row read, and only when it moved do they read the settings and apply what
 * changed (app/corp-fleet.ts): a counter rather than max(updated_at), because a removed row leaves
 * no timestamp behind and clocks of several hosts need not agree.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await d
    .tableOptions(
      db.schema
        .createTable('config_revision')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('revision', d.types.bigint, (c) => c.notNull()),
    )
    .execute();
  await db.insertInto('config_revision').values({ id: 1, revision: 0 }).execute();
}
