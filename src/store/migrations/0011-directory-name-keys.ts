import type { Kysely } from 'kysely';
import { nameKeys } from '../../directory/name-keys.ts';
import type { StoreDialect } from '../dialects/dialect.ts';

/** The directory tables that hold names people search by, with their id column. */
const NAMED_TABLES = [
  ['dir_members', 'userid'],
  ['dir_external_contacts', 'external_userid'],
  ['dir_groups', 'roomid'],
] as const;

const PAGE = 1_000;

/**
 * Name keys for members, customers and groups (directory/name-keys.ts): the name's pinyin and
 * initials, so that `zhangsan` and `zs` find 张三. Indexed with the corp for prefix lookups. Every
 * row that already has a name gets its keys here, page by page in id order; the directory store
 * keeps them up to date from then on, in the same statement that writes the name.
 */
/**
 * A page's updates in one transaction. Where DDL is transactional (SQLite, PostgreSQL) the whole
 * migration already runs in one; MySQL runs migrations outside, and a commit per row would make a
 * large directory's migration slow.
 */
async function inOneTransaction(db: Kysely<any>, fn: (trx: Kysely<any>) => Promise<void>): Promise<void> {
  if (db.isTransaction) await fn(db);
  else await db.transaction().execute(fn);
}

export async function up(db: Kysely<any>, _d: StoreDialect): Promise<void> {
  for (const [table, id] of NAMED_TABLES) {
    await db.schema.alterTable(table).addColumn('name_pinyin', 'varchar(255)').execute();
    await db.schema.alterTable(table).addColumn('name_initials', 'varchar(255)').execute();
    await db.schema.createIndex(`${table}_pinyin_idx`).on(table).columns(['corpid', 'name_pinyin']).execute();
    await db.schema.createIndex(`${table}_initials_idx`).on(table).columns(['corpid', 'name_initials']).execute();
    let after: { corpid: string; id: string } | undefined;
    for (;;) {
      let page = db
        .selectFrom(table)
        .select(['corpid', `${id} as id`, 'name'])
        .where('name', 'is not', null);
      if (after) {
        const { corpid, id: lastId } = after;
        page = page.where((eb) => eb(eb.refTuple('corpid', id), '>', eb.tuple(corpid, lastId)));
      }
      const rows: Array<{ corpid: string; id: string; name: string }> = await page.orderBy('corpid').orderBy(id).limit(PAGE).execute();
      await inOneTransaction(db, async (trx) => {
        for (const row of rows) {
          const keys = nameKeys(row.name);
          await trx.updateTable(table).set({ name_pinyin: keys.pinyin, name_initials: keys.initials }).where('corpid', '=', row.corpid).where(id, '=', row.id).execute();
        }
      });
      if (rows.length < PAGE) break;
      after = rows[rows.length - 1]!;
    }
  }
}
