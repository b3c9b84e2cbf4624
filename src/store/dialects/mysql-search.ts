import { type Kysely, sql, type SqlBool } from 'kysely';
import { plannerHolders } from './planner-holders.ts';
import type { RequiredToken, SearchDoc, SearchIndexSql } from './dialect.ts';
import { LAST_SECOND, secondIdOf, SLOTS_A_SECOND } from './time-ids.ts';

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

  // a LONGTEXT column and InnoDB FULLTEXT take a document of any size; what bounds one is the
  // statement that carries it (max_allowed_packet), see writeDocs
  async createDocParts() {},

  // `ord`: the time id of the message's second (time-ids.ts), from the messages the entries index
  async orderByTime(db) {
    await sql`ALTER TABLE search_docs ADD COLUMN ord BIGINT NOT NULL DEFAULT 0, ADD INDEX search_docs_ord (corpid, ord)`.execute(db);
    await sql`UPDATE search_docs d JOIN messages m ON m.corpid = d.corpid AND m.msgid = d.msgid
      SET d.ord = GREATEST(LEAST(FLOOR(m.msgtime / 1000), ${LAST_SECOND}), 0) * ${SLOTS_A_SECOND}`.execute(db);
    return false;
  },

  // a range of ids is already cheap: the (corpid, ord) index
  async createIdRangeIndex() {},

  // its key is what a message's entry written again replaces (ON DUPLICATE KEY UPDATE)
  async keyEntriesBySecond() {},

  // every entry keeps its corp beside its tokens
  async listCorpsIndexed() {},

  async writeDocs(trx, docs) {
    for (const batch of batchesOf(docs)) {
      const rows = batch.map((d) => sql`(${d.corpid}, ${d.msgid}, ${d.conversation_key}, ${secondIdOf(d.msgtime)}, ${d.tokens.join(' ')})`);
      await sql`INSERT INTO search_docs (corpid, msgid, conversation_key, ord, tokens) VALUES ${sql.join(rows)}
        ON DUPLICATE KEY UPDATE conversation_key = VALUES(conversation_key), ord = VALUES(ord), tokens = VALUES(tokens)`.execute(trx);
    }
  },

  async deleteDocs(trx, corpid) {
    await sql`DELETE FROM search_docs${corpid === undefined ? sql`` : sql` WHERE corpid = ${corpid}`}`.execute(trx);
  },

  holdsAll,

  holdsAllByText,

  ...plannerHolders(holdsAll, { holdsAllByText }),
};

/** `+a +b* +(c d)`: every token required, prefixes starred, one of a group's tokens required. */
function booleanQuery(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => ('anyOf' in t ? `+(${t.anyOf.join(' ')})` : `+${t.token}${t.prefix ? '*' : ''}`)).join(' ');
}

/**
 * Characters of tokens one INSERT carries at most (a single larger message goes alone). A statement
 * must stay under the server's max_allowed_packet (16 MB by default on MariaDB, 64 MB on MySQL 8).
 * A message's tokens come to under 16 MB: searchable-text.ts keeps 1,000,000 UTF-16 units of a
 * message, each CJK character adds at most one 14-character bigram token, and its distinct
 * characters one 8-character unigram each (natural text stays far below: its bigrams repeat).
 */
const STATEMENT_TOKEN_CHARS = 2_000_000;

/** The documents in order, in batches of at most 200 and STATEMENT_TOKEN_CHARS (one document at least). */
function* batchesOf(docs: readonly SearchDoc[]): Generator<SearchDoc[]> {
  let batch: SearchDoc[] = [];
  let chars = 0;
  for (const doc of docs) {
    const size = doc.tokens.reduce((sum, t) => sum + t.length + 1, 0);
    if (batch.length > 0 && (batch.length === 200 || chars + size > STATEMENT_TOKEN_CHARS)) {
      yield batch;
      batch = [];
      chars = 0;
    }
    batch.push(doc);
    chars += size;
  }
  if (batch.length > 0) yield batch;
}

/**
 * The entry `d` holds every token: asked of the FULLTEXT index, which reads every holder of each
 * token it is asked for, except those marked `common`, which are checked on the entries the others
 * find (holdsAllByText). A common word's 86,000 holders cost FULLTEXT about 250 ms.
 */
function holdsAll(tokens: readonly RequiredToken[]) {
  const asked = tokens.filter((t) => t.common !== true);
  if (asked.length === 0 || asked.length === tokens.length) return sql<SqlBool>`MATCH (d.tokens) AGAINST (${booleanQuery(tokens)} IN BOOLEAN MODE)`;
  return sql<SqlBool>`(MATCH (d.tokens) AGAINST (${booleanQuery(asked)} IN BOOLEAN MODE) AND ${holdsAllByText(tokens.filter((t) => t.common === true))})`;
}

/**
 * The entry `d` holds every token: found in its own tokens, space-separated (`writeDocs`), as
 * ` token ` (a prefix as ` prefix`). Tokens hold only [a-z0-9] (token-codec.ts), so nothing in one
 * is special to LOCATE, and a space never falls inside one. CONCAT's value is two characters longer
 * than the column's, which writeDocs already sends whole in one statement, under max_allowed_packet
 * (past it, CONCAT would give NULL and the entry would not be found). Compared as bytes: in the
 * column's utf8mb4, LOCATE steps through the text a character at a time, and as bytes it took a
 * quarter of the time (500 entries, three tokens: 2.2 ms against 4.9 in all, 1.4 of it reading the
 * entries). The same answer: an ASCII needle never matches within a character of more bytes, whose
 * bytes are all above 0x7f.
 */
function holdsAllByText(tokens: readonly RequiredToken[]) {
  const padded = sql`CONCAT(_binary' ', CAST(d.tokens AS BINARY), _binary' ')`;
  const has = (token: string, prefix: boolean) => sql<SqlBool>`LOCATE(CAST(${prefix ? ` ${token}` : ` ${token} `} AS BINARY), ${padded}) > 0`;
  const each = tokens.map((t) =>
    'anyOf' in t
      ? sql<SqlBool>`(${sql.join(
          t.anyOf.map((a) => has(a, false)),
          sql` OR `,
        )})`
      : has(t.token, t.prefix),
  );
  return sql<SqlBool>`(${sql.join(each, sql` AND `)})`;
}
