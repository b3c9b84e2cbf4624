import { type Kysely, sql } from 'kysely';
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

  holdsAll(tokens) {
    return sql`d.tsv @@ ${tsQuery(tokens)}::tsquery`;
  },
};

/** `'a' & 'b':*`: tokens are [a-z0-9], so quoting needs no escapes. */
function tsQuery(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => `'${t.token}'${t.prefix ? ':*' : ''}`).join(' & ');
}
