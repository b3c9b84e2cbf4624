import { type Kysely, sql, type SqlBool } from 'kysely';
import type { RequiredToken, SearchIndexSql } from './dialect.ts';

/**
 * MySQL / MariaDB: an InnoDB FULLTEXT index over the message's tokens joined by spaces, asked in
 * boolean mode (`+a +b*`). Every token has 3 to 84 characters of [a-z0-9], within InnoDB's default
 * token sizes, and the index is created with stop words off, so none of them is ever dropped.
 */
export const mysqlSearch: SearchIndexSql = {
  async createIndex(db: Kysely<any>, d) {
    await d
      .tableOptions(
        db.schema
          .createTable('search_docs')
          .addColumn('id', 'bigint', (c) => c.primaryKey().autoIncrement())
          .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
          .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
          .addColumn('tokens', sql`longtext`, (c) => c.notNull())
          .addUniqueConstraint('search_docs_msg', ['corpid', 'msgid']),
      )
      .execute();
    // the stop word setting is read when a FULLTEXT index is created, and kept by it; the migration
    // runs on one connection, so the session setting applies to the statement below
    await sql`SET SESSION innodb_ft_enable_stopword = 0`.execute(db);
    try {
      await sql`CREATE FULLTEXT INDEX search_docs_ft ON search_docs (tokens)`.execute(db);
    } finally {
      await sql`SET SESSION innodb_ft_enable_stopword = 1`.execute(db);
    }
  },

  async writeDocs(trx, docs) {
    for (let i = 0; i < docs.length; i += 200) {
      const rows = docs.slice(i, i + 200).map((d) => sql`(${d.corpid}, ${d.msgid}, ${d.tokens.join(' ')})`);
      await sql`INSERT INTO search_docs (corpid, msgid, tokens) VALUES ${sql.join(rows)}
        ON DUPLICATE KEY UPDATE tokens = VALUES(tokens)`.execute(trx);
    }
  },

  async deleteDocs(trx, corpid) {
    await sql`DELETE FROM search_docs${corpid === undefined ? sql`` : sql` WHERE corpid = ${corpid}`}`.execute(trx);
  },

  holdsAll,

  // the planner estimates how many entries hold the tokens from the index's statistics, and picks
  // the driving side itself
  holders(db, tokens, _driver, corpid) {
    const q = db
      .selectFrom('search_docs as d')
      .innerJoin('messages as m', (join) => join.onRef('m.corpid', '=', 'd.corpid').onRef('m.msgid', '=', 'd.msgid'))
      .where(holdsAll(tokens));
    return corpid === undefined ? q : q.where('d.corpid', '=', corpid).where('m.corpid', '=', corpid);
  },

  async countHolders(db, tokens, corpid, cap) {
    const ofCorp = corpid === undefined ? sql`` : sql` AND d.corpid = ${corpid}`;
    const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM (SELECT 1 FROM search_docs d WHERE ${holdsAll(tokens)}${ofCorp} LIMIT ${cap}) x`.execute(db);
    return Number(r.rows[0]?.n ?? 0);
  },
};

/** `+a +b*`: every token required, prefixes starred. */
function booleanQuery(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => `+${t.token}${t.prefix ? '*' : ''}`).join(' ');
}

/** The entry `d` holds every token. */
function holdsAll(tokens: readonly RequiredToken[]) {
  return sql<SqlBool>`MATCH (d.tokens) AGAINST (${booleanQuery(tokens)} IN BOOLEAN MODE)`;
}
