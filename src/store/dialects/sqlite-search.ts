import { type Kysely, type RawBuilder, sql, type SqlBool, type Transaction } from 'kysely';
import type { Database } from '../schema.ts';
import type { RequiredToken, SearchDoc, SearchIndexSql, SearchJoin } from './dialect.ts';
import { entrySecond, nextIdOf, SLOTS_A_SECOND } from './time-ids.ts';

/** rows a multi-row statement writes or looks up: at most four values each, far below SQLite's 32,766 variables */
const ROWS_A_STATEMENT = 500;

/**
 * SQLite: an FTS5 table without content (`content=''`, so the tokens are not stored a second time)
 * and without positions (`detail=none`: the smallest index; queries only ask for every one of a set
 * of tokens). Its rowid is `search_docs.id`, which names the message and follows its time
 * (time-ids.ts), so a search reads a term's entries newest first from the index itself.
 * `contentless_delete=1` lets a reindex replace a message's entry. The `ascii` tokenizer keeps each token whole: they are
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

  // the entries written before had ids in the order they were indexed, and FTS5 keeps no tokens to
  // write them again from: they are deleted (FTS5's own command empties an index without content at
  // once, not row by row), to be written again
  async orderByTime(db) {
    await sql`INSERT INTO search_fts (search_fts) VALUES ('delete-all')`.execute(db);
    await sql`DELETE FROM search_docs`.execute(db);
    return true;
  },

  // FTS5 takes a document of any length (up to SQLite's 1 GB value limit, far above what
  // searchable-text.ts lets one message contribute), so one row per message always suffices
  async createDocParts() {},

  // a range of ids is already cheap: FTS5 seeks its rowids (given as integers: ftsRowid)
  async createIdRangeIndex() {},

  seeksIdRanges: true,

  // the table again, its key on (corpid, msgid) now behind the entry's second: SQLite matches the
  // expression in writeDocs' lookup to this one's, the divisor written out in both
  async keyEntriesBySecond(db) {
    await sql`CREATE TABLE search_docs_by_second (id integer PRIMARY KEY, corpid varchar(64) NOT NULL, msgid varchar(191) NOT NULL)`.execute(db);
    await sql`INSERT INTO search_docs_by_second (id, corpid, msgid) SELECT id, corpid, msgid FROM search_docs`.execute(db);
    await sql`DROP TABLE search_docs`.execute(db);
    await sql`ALTER TABLE search_docs_by_second RENAME TO search_docs`.execute(db);
    await sql`CREATE UNIQUE INDEX search_docs_msg ON search_docs (id / ${SECOND_OF_ID}, corpid, msgid)`.execute(db);
  },

  // `search_corps`: every corp with an entry is in it (written in the transaction that writes the
  // entries), and one is taken out only with the last of its entries (deleteDocs)
  async listCorpsIndexed(db) {
    await sql`CREATE TABLE search_corps (corpid varchar(64) PRIMARY KEY) WITHOUT ROWID`.execute(db);
    await sql`INSERT INTO search_corps (corpid) SELECT DISTINCT corpid FROM search_docs`.execute(db);
  },

  // a batch at a time. An entry is filed in its message's second (time-ids.ts), and a stored
  // message's time never changes (entries of the versions before time ids were deleted by migration
  // 0020), so the entries a reindex replaces are found by (second, corpid, msgid), with one lookup
  // per chunk of rows, and the highest id of each second the new ones go in with one more. The
  // entries and their tokens are then written with one statement each per chunk of rows.
  async writeDocs(trx, docs) {
    const corps = [...new Set(docs.map((d) => d.corpid))];
    if (corps.length > 0) await sql`INSERT OR IGNORE INTO search_corps (corpid) VALUES ${sql.join(corps.map((c) => sql`(${c})`))}`.execute(trx);
    const filed = await filedIds(trx, docs);
    const ids = new Map<SearchDoc, number>();
    const replaced: number[] = [];
    for (const d of docs) {
      const id = filed.get(messageKey(d.corpid, d.msgid));
      if (id === undefined) continue;
      ids.set(d, id);
      replaced.push(id);
    }
    for (const part of chunks(replaced, ROWS_A_STATEMENT)) await sql`DELETE FROM search_fts WHERE rowid IN (${sql.join(part.map(ftsRowid))})`.execute(trx);
    const fresh = docs.filter((d) => !ids.has(d));
    const highest = await highestIds(trx, new Set(fresh.map((d) => entrySecond(d.msgtime))));
    for (const d of fresh) {
      const second = entrySecond(d.msgtime);
      const id = nextIdOf(second, highest.get(second));
      highest.set(second, id);
      ids.set(d, id);
    }
    for (const part of chunks(fresh, ROWS_A_STATEMENT)) {
      await sql`INSERT INTO search_docs (id, corpid, msgid, conversation_key) VALUES ${sql.join(part.map((d) => sql`(${ids.get(d)!}, ${d.corpid}, ${d.msgid}, ${d.conversation_key})`))}`.execute(
        trx,
      );
    }
    // in rowid order: FTS5 writes out its pending terms whenever a rowid is lower than the one before
    // it in the transaction, and the queue's order (by msgid) is no order of time, so unsorted each
    // batch became dozens of small segments to merge (23 µs a message against 8 for a catch-up)
    const inRowidOrder = [...ids].sort((a, b) => a[1] - b[1]);
    for (const part of chunks(inRowidOrder, ROWS_A_STATEMENT)) {
      await sql`INSERT INTO search_fts (rowid, tokens) VALUES ${sql.join(part.map(([d, id]) => sql`(${id}, ${d.tokens.join(' ')})`))}`.execute(trx);
    }
  },

  async deleteDocs(trx, corpid) {
    const which = corpid === undefined ? sql`` : sql` WHERE corpid = ${corpid}`;
    await sql`DELETE FROM search_fts WHERE rowid IN (SELECT id FROM search_docs${which})`.execute(trx);
    await sql`DELETE FROM search_docs${which}`.execute(trx);
    await sql`DELETE FROM search_corps${which}`.execute(trx);
  },

  holdsAll(tokens) {
    return sql`d.id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH ${fts5Query(tokens)})`;
  },

  entryId: sql<number>`d.id`,

  // The FTS table drives, in descending rowid, which FTS5 walks without sorting (ordered or not:
  // it costs nothing), its id range asked of FTS5 itself; each entry it gives is looked up by its
  // id, then its message by key. SQLite's planner does not know how many rows a MATCH gives, and
  // by itself picked a walk over every message: CROSS JOIN fixes the order of the loops, and `+`
  // keeps the corp index of search_docs out of the plan.
  holders(db, tokens, corpid, range) {
    let q = db
      .selectFrom(sql`search_fts`.as('f'))
      .crossJoin('search_docs as d')
      .crossJoin('messages as m')
      .where(sql<SqlBool>`search_fts MATCH ${fts5Query(tokens)}`)
      .where(sql<SqlBool>`d.id = f.rowid`)
      .whereRef('m.corpid', '=', 'd.corpid')
      .whereRef('m.msgid', '=', 'd.msgid');
    if (range.atLeast !== undefined) q = q.where(sql<SqlBool>`f.rowid >= ${ftsRowid(range.atLeast)}`);
    if (range.below !== undefined) q = q.where(sql<SqlBool>`f.rowid < ${ftsRowid(range.below)}`);
    if (corpid !== undefined) q = q.where(sql<SqlBool>`+d.corpid = ${corpid}`);
    return q.orderBy(sql`f.rowid`, 'desc') as unknown as SearchJoin;
  },

  // a list of bound values SQLite keeps as a small index of its own for the statement; the
  // condition on the participants instead made each statement read them again
  scopeAsList: {
    upTo: 5_000,
    inList: (keys) => sql<SqlBool>`d.conversation_key IN (${sql.join(keys)})`,
  },

  async countHolders(db, tokens, corpid, cap, range, _walks, _rangeNarrows, where) {
    const match = fts5Query(tokens);
    const inRange = sql.join(
      [
        sql`search_fts MATCH ${match}`,
        ...(range.atLeast === undefined ? [] : [sql`f.rowid >= ${ftsRowid(range.atLeast)}`]),
        ...(range.below === undefined ? [] : [sql`f.rowid < ${ftsRowid(range.below)}`]),
      ],
      sql` AND `,
    );
    // FTS5 gives its holders one by one, so the count stops reading at the cap; as `d.id IN (…)`,
    // SQLite first kept every holder in a table of its own (86,044 of a common word: 22 ms, where
    // this takes 3.6)
    const counted = async (statement: RawBuilder<{ n: number }>) => Number((await statement.execute(db)).rows[0]?.n ?? 0);
    const fromIndex = sql`SELECT 1 FROM search_fts f WHERE ${inRange} LIMIT ${cap}`;
    if (corpid === undefined && where === undefined) return counted(sql`SELECT count(*) AS n FROM (${fromIndex})`);
    const onEntry = [...(corpid === undefined ? [] : [sql`+d.corpid = ${corpid}`]), ...(where === undefined ? [] : [where])];
    const onEntries = sql`SELECT 1 FROM search_fts f CROSS JOIN search_docs d WHERE ${inRange} AND d.id = f.rowid AND ${sql.join(onEntry, sql` AND `)} LIMIT ${cap}`;
    if (where !== undefined) return counted(sql`SELECT count(*) AS n FROM (${onEntries})`);
    // a corp alone: each holder's entry is asked for its corp only while another corp has entries
    // (search_corps), in the same statement, so in the same snapshot. CASE runs only the subquery
    // it takes
    return counted(sql`SELECT CASE WHEN EXISTS (SELECT 1 FROM search_corps WHERE corpid <> ${corpid})
      THEN (SELECT count(*) FROM (${onEntries})) ELSE (SELECT count(*) FROM (${fromIndex})) END AS n`);
  },
};

/**
 * The divisor that gives an entry id's second, written into the SQL itself: an index on an
 * expression serves only a query with the same expression, and a bound value is not the same.
 */
const SECOND_OF_ID = sql.raw(String(SLOTS_A_SECOND));

/**
 * An entry id as FTS5 takes a rowid: better-sqlite3 binds every JS number as a REAL, and FTS5 uses
 * a bound on its rowids (or a rowid to look up) only when the value is an INTEGER. Given a REAL, it
 * read the token's whole list and left the bound to SQLite's check of each row: the common word's
 * holders in one day (7,332 of 86,044) were counted in 7.2 ms instead of 0.7 (median of 15).
 */
function ftsRowid(id: number): RawBuilder<number> {
  return sql<number>`CAST(${id} AS INTEGER)`;
}

/** The ids of the entries these messages already have, by messageKey, through the key on (second, corpid, msgid). */
async function filedIds(trx: Transaction<Database>, docs: readonly SearchDoc[]): Promise<Map<string, number>> {
  const filed = new Map<string, number>();
  for (const part of chunks(docs, ROWS_A_STATEMENT)) {
    const keys = sql.join(part.map((d) => sql`(${entrySecond(d.msgtime)}, ${d.corpid}, ${d.msgid})`));
    const rows = await sql<{ id: number; corpid: string; msgid: string }>`WITH k(second, corpid, msgid) AS (VALUES ${keys})
      SELECT d.id, d.corpid, d.msgid FROM k CROSS JOIN search_docs d WHERE d.id / ${SECOND_OF_ID} = k.second AND d.corpid = k.corpid AND d.msgid = k.msgid`.execute(trx);
    for (const r of rows.rows) filed.set(messageKey(r.corpid, r.msgid), Number(r.id));
  }
  return filed;
}

/** The highest entry id each of these seconds holds (absent: none), in one statement per chunk of seconds. */
async function highestIds(trx: Transaction<Database>, seconds: ReadonlySet<number>): Promise<Map<number, number | undefined>> {
  const highest = new Map<number, number | undefined>();
  for (const part of chunks([...seconds], ROWS_A_STATEMENT)) {
    const rows = await sql<{ second: number; top: number | null }>`WITH s(second) AS (VALUES ${sql.join(part.map((second) => sql`(${second})`))})
      SELECT second, (SELECT max(id) FROM search_docs WHERE id >= second * ${SLOTS_A_SECOND} AND id < (second + 1) * ${SLOTS_A_SECOND}) AS top FROM s`.execute(trx);
    for (const r of rows.rows) highest.set(Number(r.second), r.top === null ? undefined : Number(r.top));
  }
  return highest;
}

/** A message's key as one string (a corpid holds no NUL). */
function messageKey(corpid: string, msgid: string): string {
  return `${corpid}\0${msgid}`;
}

/** `"a" AND "b" * AND ("c" OR "d")`: each token quoted (so no token is read as an operator), prefixes starred. */
function fts5Query(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => ('anyOf' in t ? `(${t.anyOf.map((a) => `"${a}"`).join(' OR ')})` : `"${t.token}"${t.prefix ? ' *' : ''}`)).join(' AND ');
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
