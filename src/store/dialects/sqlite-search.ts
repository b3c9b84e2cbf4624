import { type Kysely, sql, type SqlBool } from 'kysely';
import { groupBy } from '../../runtime/group-by.ts';
import type { RequiredToken, SearchDoc, SearchIndexSql } from './dialect.ts';

/** rows a multi-row statement writes: two values each, far below SQLite's 32,766 variables */
const ROWS_A_STATEMENT = 500;

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

  // a batch at a time: the entries a reindex replaces are found with one lookup, the new ones
  // inserted with one statement, and the tokens written with one more (per chunk of rows)
  async writeDocs(trx, docs) {
    const ids = new Map<SearchDoc, number>();
    for (const [corpid, group] of groupBy(docs, (d) => d.corpid)) {
      for (const part of chunks(group, ROWS_A_STATEMENT)) {
        const found = await sql<{
          id: number;
          msgid: string;
        }>`SELECT id, msgid FROM search_docs WHERE corpid = ${corpid} AND msgid IN (${sql.join(part.map((d) => d.msgid))})`.execute(trx);
        const known = new Map(found.rows.map((r) => [r.msgid, r.id]));
        const fresh = part.filter((d) => !known.has(d.msgid));
        for (const d of part) if (known.has(d.msgid)) ids.set(d, known.get(d.msgid)!);
        if (known.size > 0) await sql`DELETE FROM search_fts WHERE rowid IN (${sql.join([...known.values()])})`.execute(trx);
        if (fresh.length === 0) continue;
        const inserted = await sql<{
          id: number;
          msgid: string;
        }>`INSERT INTO search_docs (corpid, msgid) VALUES ${sql.join(fresh.map((d) => sql`(${corpid}, ${d.msgid})`))} RETURNING id, msgid`.execute(trx);
        const made = new Map(inserted.rows.map((r) => [r.msgid, r.id]));
        for (const d of fresh) ids.set(d, made.get(d.msgid)!);
      }
    }
    for (const part of chunks([...ids], ROWS_A_STATEMENT)) {
      await sql`INSERT INTO search_fts (rowid, tokens) VALUES ${sql.join(part.map(([d, id]) => sql`(${id}, ${d.tokens.join(' ')})`))}`.execute(trx);
    }
  },

  async deleteDocs(trx, corpid) {
    const which = corpid === undefined ? sql`` : sql` WHERE corpid = ${corpid}`;
    await sql`DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs${which})`.execute(trx);
    await sql`DELETE FROM search_docs${which}`.execute(trx);
  },

  holdsAll(tokens) {
    return sql`d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ${fts5Query(tokens)})`;
  },

  // SQLite's planner does not know how many rows a MATCH gives, and by itself picked a walk over
  // every message (seconds at 100k) for a rare token. CROSS JOIN fixes the order of the loops, and a
  // `+` keeps a column's index out of the plan:
  //   - index: the rowid list drives (`+d.corpid`, or the corp index of search_docs would scan a corp
  //     and probe the list);
  //   - time: the messages in the caller's order drive, and `+d.id` makes the list a set looked up
  //     per row (as an index constraint SQLite would probe the unique index once per listed id for
  //     every message it walks, a hundred times slower).
  holders(db, tokens, driver, corpid) {
    const list = sql`(SELECT rowid FROM search_fts WHERE search_fts MATCH ${fts5Query(tokens)})`;
    if (driver === 'index') {
      const q = db
        .selectFrom('search_docs as d')
        .crossJoin('messages as m')
        .whereRef('m.corpid', '=', 'd.corpid')
        .whereRef('m.msgid', '=', 'd.msgid')
        .where(sql<SqlBool>`d.id IN ${list}`);
      return corpid === undefined ? q : q.where(sql<SqlBool>`+d.corpid = ${corpid}`);
    }
    const q = db
      .selectFrom('messages as m')
      .crossJoin('search_docs as d')
      .whereRef('d.corpid', '=', 'm.corpid')
      .whereRef('d.msgid', '=', 'm.msgid')
      .where(sql<SqlBool>`+d.id IN ${list}`);
    return corpid === undefined ? q : q.where('m.corpid', '=', corpid);
  },

  async countHolders(db, tokens, corpid, cap) {
    const match = fts5Query(tokens);
    const holders =
      corpid === undefined
        ? sql`SELECT 1 FROM search_fts WHERE search_fts MATCH ${match} LIMIT ${cap}`
        : sql`SELECT 1 FROM search_docs d WHERE d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ${match}) AND +d.corpid = ${corpid} LIMIT ${cap}`;
    const r = await sql<{ n: number }>`SELECT count(*) AS n FROM (${holders})`.execute(db);
    return Number(r.rows[0]?.n ?? 0);
  },
};

/** `"a" AND "b" * AND ("c" OR "d")`: each token quoted (so no token is read as an operator), prefixes starred. */
function fts5Query(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => ('anyOf' in t ? `(${t.anyOf.map((a) => `"${a}"`).join(' OR ')})` : `"${t.token}"${t.prefix ? ' *' : ''}`)).join(' AND ');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
