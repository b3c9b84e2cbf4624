import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * A corp's pull is held by one process at a time (docs/design.md, "Scale-out"): the holder and until
 * when. A holder that dies lets it lapse; on its own host it is taken over at once. Only the
 * holder moves the cursor, so two processes can never move it back.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  await db.schema.alterTable('cursors').addColumn('lease_owner', 'varchar(64)').execute();
  await db.schema.alterTable('cursors').addColumn('lease_until', d.types.bigint).execute();
}
