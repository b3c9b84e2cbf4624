import { type Kysely, sql, type SqlBool } from 'kysely';
import type { RequiredToken, SearchIndexSql } from './dialect.ts';

/**
 * PostgreSQL: a `tsvector` column made with array_to_tsvector, so the tokens are the lexemes exactly
 * as given (no parser, no dictionary), under a GIN index. A query is a tsquery of the tokens ANDed,
 * `:*` marking a prefix, cast from text for the same reason.
 */
export const postgresSearch: SearchIndexSql = {
  async createIndex(db: Kysely<any>) {
    await db.schema
      .createTable('search_docs')
      .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
      .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
      .addColumn('tsv', sql`tsvector`, (c) => c.notNull())
      .addPrimaryKeyConstraint('search_docs_pk', ['corpid', 'msgid'])
      .execute();
    await sql`CREATE INDEX search_docs_tsv_idx ON search_docs USING gin (tsv)`.execute(db);
  },

  async writeDocs(trx, docs) {
    for (let i = 0; i < docs.length; i += 200) {
      const rows = docs.slice(i, i + 200).map((d) => sql`(${d.corpid}, ${d.msgid}, array_to_tsvector(${[...d.tokens]}::text[]))`);
      await sql`INSERT INTO search_docs (corpid, msgid, tsv) VALUES ${sql.join(rows)}
        ON CONFLICT (corpid, msgid) DO UPDATE SET tsv = excluded.tsv`.execute(trx);
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

/** `'a' & 'b':*`: tokens are [a-z0-9], so quoting needs no escapes. */
function tsQuery(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => `'${t.token}'${t.prefix ? ':*' : ''}`).join(' & ');
}

/** The entry `d` holds every token. */
function holdsAll(tokens: readonly RequiredToken[]) {
  return sql<SqlBool>`d.tsv @@ ${tsQuery(tokens)}::tsquery`;
}
