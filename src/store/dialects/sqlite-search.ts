import { type Kysely, sql } from 'kysely';
import type { RequiredToken, SearchIndexSql } from './dialect.ts';

/**
 * SQLite: an FTS5 table without content (`content=''`, so the tokens are not stored a second time)
 * and without positions (`detail=none`: the smallest index; queries only ask for every one of a set
 * of tokens). Its rowid is `search_docs.id`, which names the message. `contentless_delete=1` lets a
 * reindex replace a message's entry. The `ascii` tokenizer keeps each token whole: they are
 * lower-case [a-z0-9] only.
 */
export const sqliteSearch: SearchIndexSql = {
  async createIndex(db: Kysely<any>) {
    await db.schema
      .createTable('search_docs')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
      .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
      .addUniqueConstraint('search_docs_msg', ['corpid', 'msgid'])
      .execute();
    await sql`CREATE VIRTUAL TABLE search_fts USING fts5(tokens, content='', contentless_delete=1, detail=none, tokenize='ascii')`.execute(db);
  },

  // FTS5 takes a document of any length (up to SQLite's 1 GB value limit, far above what
  // searchable-text.ts lets one message contribute), so one row per message always suffices
  async createDocParts() {},

  async writeDocs(trx, docs) {
    for (const doc of docs) {
      const found = await sql<{ id: number }>`SELECT id FROM search_docs WHERE corpid = ${doc.corpid} AND msgid = ${doc.msgid}`.execute(trx);
      let id = found.rows[0]?.id;
      if (id === undefined) {
        const inserted = await sql<{ id: number }>`INSERT INTO search_docs (corpid, msgid) VALUES (${doc.corpid}, ${doc.msgid}) RETURNING id`.execute(trx);
        id = inserted.rows[0]!.id;
      } else {
        await sql`DELETE FROM search_fts WHERE rowid = ${id}`.execute(trx);
      }
      await sql`INSERT INTO search_fts (rowid, tokens) VALUES (${id}, ${doc.tokens.join(' ')})`.execute(trx);
    }
  },

  async deleteDocs(trx, corpid) {
    const which = corpid === undefined ? sql`` : sql` WHERE corpid = ${corpid}`;
    await sql`DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs${which})`.execute(trx);
    await sql`DELETE FROM search_docs${which}`.execute(trx);
  },

  holdsAll(tokens) {
    // `+d.id`: the list is looked up per row; as an index constraint SQLite would probe the unique
    // index once per listed id for every message it walks, a hundred times slower
    return sql`+d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ${fts5Query(tokens)})`;
  },
};

/** `"a" AND "b" *`: each token quoted (so no token is read as an operator), prefixes starred. */
function fts5Query(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => `"${t.token}"${t.prefix ? ' *' : ''}`).join(' AND ');
}
