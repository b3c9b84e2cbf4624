import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * The vault's own records. `vault_checks` holds a check value of the master key (an HMAC of a
 * constant under it, never the key): a process started with another key is refused before it seals
 * anything. `key_history` keeps every replacement of a corp's private key, by fingerprint only.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const { bigint } = d.types;
  await d
    .tableOptions(
      db.schema
        .createTable('vault_checks')
        .addColumn('name', 'varchar(32)', (c) => c.primaryKey())
        .addColumn('check_value', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull()),
    )
    .execute();

  await d
    .tableOptions(
      d
        .addIdColumn(db.schema.createTable('key_history'))
        .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('old_fingerprint', 'varchar(64)', (c) => c.notNull())
        .addColumn('new_fingerprint', 'varchar(64)', (c) => c.notNull())
        .addColumn('decrypted_messages', 'integer', (c) => c.notNull())
        .addColumn('forced', 'integer', (c) => c.notNull())
        .addColumn('replaced_at', bigint, (c) => c.notNull()),
    )
    .execute();
  await db.schema.createIndex('key_history_corp_idx').on('key_history').columns(['corpid', 'version']).execute();
}
