import { type Kysely, sql, type SqlBool } from 'kysely';
import { groupBy } from '../../runtime/group-by.ts';
import { plannerHolders } from './planner-holders.ts';
import type { RequiredToken, SearchDoc, SearchIndexSql } from './dialect.ts';
import { LAST_SECOND, secondIdOf, SLOTS_A_SECOND } from './time-ids.ts';

/**
 * Lexeme bytes one tsvector may hold: PostgreSQL refuses a value over 1 MB (1,048,575 bytes), and
 * a long chat record has more distinct tokens than that. Tokens are ASCII, so bytes are characters.
 */
export const TSVECTOR_PART_BYTES = 1_000_000;

/**
 * PostgreSQL: a `tsvector` column made with array_to_tsvector, so the tokens are the lexemes exactly
 * as given (no parser, no dictionary), under a GIN index. A query is a tsquery of the tokens ANDed,
 * `:*` marking a prefix, cast from text for the same reason.
 *
 * A message whose tokens do not fit one tsvector keeps the first TSVECTOR_PART_BYTES of them in its
 * search_docs row, the rest in search_doc_parts, and the row counts its extra parts (`parts`). Such
 * a message holds a query when each token is in one of its rows; only messages with parts are asked
 * that, through a partial index, so the common case stays one GIN lookup.
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

  async createDocParts(db: Kysely<any>) {
    await db.schema
      .alterTable('search_docs')
      .addColumn('parts', 'smallint', (c) => c.notNull().defaultTo(0))
      .execute();
    await sql`CREATE INDEX search_docs_split_idx ON search_docs (corpid) WHERE parts > 0`.execute(db);
    await db.schema
      .createTable('search_doc_parts')
      .addColumn('corpid', 'varchar(64)', (c) => c.notNull())
      .addColumn('msgid', 'varchar(191)', (c) => c.notNull())
      .addColumn('part', 'smallint', (c) => c.notNull())
      .addColumn('tsv', sql`tsvector`, (c) => c.notNull())
      .addPrimaryKeyConstraint('search_doc_parts_pk', ['corpid', 'msgid', 'part'])
      .execute();
    // the planner may look a token up in every part at once (a hashed subplan) rather than per message
    await sql`CREATE INDEX search_doc_parts_tsv_idx ON search_doc_parts USING gin (tsv)`.execute(db);
  },

  // `ord`: the time id of the message's second (time-ids.ts), from the messages the entries index
  async orderByTime(db) {
    await sql`ALTER TABLE search_docs ADD COLUMN ord bigint NOT NULL DEFAULT 0`.execute(db);
    await sql`UPDATE search_docs d SET ord = greatest(least(floor(m.msgtime / 1000.0), ${LAST_SECOND}), 0)::bigint * ${SLOTS_A_SECOND}
      FROM messages m WHERE m.corpid = d.corpid AND m.msgid = d.msgid`.execute(db);
    await sql`CREATE INDEX search_docs_ord_idx ON search_docs (corpid, ord)`.execute(db);
    return false;
  },

  // entries are written about in time order, so each block range of the table spans a short stretch
  // of time; a range of `ord` is then a few block ranges, and the holders of a token in it are found
  // by ANDing the GIN index's bitmap with this one's (tens of kB for a million entries). Ranges are
  // summarized as they fill, not only by VACUUM, so the newest entries are found as cheaply. When
  // the table's order drifts from time (a reindex), a slice reads more blocks; nothing is missed.
  async createIdRangeIndex(db) {
    await sql`CREATE INDEX search_docs_ord_brin ON search_docs USING brin (ord) WITH (autosummarize = on)`.execute(db);
  },

  // its key is what a message's entry written again replaces (ON CONFLICT), and what its parts join by
  async keyEntriesBySecond() {},

  // every entry keeps its corp beside its tokens
  async listCorpsIndexed() {},

  async writeDocs(trx, docs) {
    const split = docs.map((d) => ({ doc: d, parts: splitTokens(d.tokens, TSVECTOR_PART_BYTES) }));
    for (let i = 0; i < split.length; i += 200) {
      const chunk = split.slice(i, i + 200);
      const rows = chunk.map(
        ({ doc, parts }) => sql`(${doc.corpid}, ${doc.msgid}, ${doc.conversation_key}, ${secondIdOf(doc.msgtime)}, array_to_tsvector(${parts[0]!}::text[]), ${parts.length - 1})`,
      );
      await sql`INSERT INTO search_docs (corpid, msgid, conversation_key, ord, tsv, parts) VALUES ${sql.join(rows)}
        ON CONFLICT (corpid, msgid) DO UPDATE SET conversation_key = excluded.conversation_key, ord = excluded.ord, tsv = excluded.tsv, parts = excluded.parts`.execute(trx);
      // a message written again may have had parts, or more of them. Each corp's msgids as one
      // array: as a list of (corpid, msgid) pairs, the statement took 1.2 ms a batch of 200 (0.4)
      for (const [corpid, docs] of groupBy(chunk, ({ doc }) => doc.corpid)) {
        const msgids = docs.map(({ doc }) => doc.msgid);
        await sql`DELETE FROM search_doc_parts WHERE corpid = ${corpid} AND msgid = ANY(${msgids}::text[])`.execute(trx);
      }
    }
    for (const { doc, parts } of split) {
      for (let k = 1; k < parts.length; k++) {
        await sql`INSERT INTO search_doc_parts (corpid, msgid, part, tsv) VALUES (${doc.corpid}, ${doc.msgid}, ${k}, array_to_tsvector(${parts[k]!}::text[]))`.execute(trx);
      }
    }
  },

  async deleteDocs(trx, corpid) {
    const which = corpid === undefined ? sql`` : sql` WHERE corpid = ${corpid}`;
    await sql`DELETE FROM search_doc_parts${which}`.execute(trx);
    await sql`DELETE FROM search_docs${which}`.execute(trx);
  },

  holdsAll,

  // a count of a common word in a day: the BRIN bitmap of the day's pages is lossy, and ANDed with
  // the GIN one it left every row of those pages to be checked (69,600 for 7,332 holders, about
  // 40 ms); the day's facet already narrows the GIN bitmap to about the day (14,871 entries), so
  // those are read and their ids checked instead (about 22 ms). The same over a range as wide as
  // the corp's span (or its rest past a page): once the table follows time, the planner ANDed the
  // BRIN bitmap of nearly every block range with the GIN one for a count's candidates, and checked
  // every row of the holders' pages (a phrase's 619 candidates: 5,150 rows more, 17 ms against 11
  // at the median)
  //
  // A count counts the entries without parts and those with parts apart: asked as one condition,
  // `tsv @@ query OR (parts > 0 AND …)`, the planner checked the whole condition again on every row
  // the GIN index gave, decompressing its tsvector (the common word's holders in a day, 5,742: 14.8
  // ms, against 11.2 with the entries without parts counted by `tsv @@ query AND parts = 0`)
  ...plannerHolders(holdsAll, { checksWideRangeOnEachHolder: true, countsApart: [holdsAllWhole, (tokens) => sql<SqlBool>`(d.parts > 0 AND ${holdsAll(tokens)})`] }),

  countsByDays: true,
  // a search's statements read a few hundred rows through the indexes, and a parallel plan's workers
  // cost more to start and to gather from than that: on two idle cores, a phrase's candidates read
  // by themselves (1,001 of 3,674 holders) took 48–56 ms at p50 with two workers, 15 without. The
  // planner keeps most of the search's own statements serial already: the bench's classes, old and
  // new code alternating, did not change beyond the machine's drift. Nor JIT: a count the planner
  // costs past jit_above_cost (a limited reader's common word, 113,000) was compiled for 17.5 ms
  // before it read a row, to save far less on the rows it reads. Read in one snapshot, a first
  // page and its count agree. Settings made local (set_config's `true`) end with the transaction:
  // the pool keeps the server's for everything else.
  async searchSession(db, work) {
    return db
      .transaction()
      .setIsolationLevel('repeatable read')
      .setAccessMode('read only')
      .execute(async (trx) => {
        await sql`SELECT set_config('max_parallel_workers_per_gather', '0', true), set_config('jit', 'off', true)`.execute(trx);
        return work(trx);
      });
  },

  // one array parameter, however long the list; planning it costs about 6 µs a conversation (18 ms
  // for 3,000), so a longer list is left to the scope's own condition
  scopeAsList: {
    upTo: 5_000,
    inList: (keys) => sql<SqlBool>`d.conversation_key = ANY(${[...keys]}::text[])`,
  },

  // PostgreSQL's statistics of the tsvector's elements make this close (3,465 estimated where 2,948
  // hold a rare term), and EXPLAIN costs a fraction of a millisecond
  async estimateHolders(db, tokens, corpid) {
    const ofCorp = corpid === undefined ? sql`` : sql` AND d.corpid = ${corpid}`;
    const r = await sql<{ 'QUERY PLAN': Array<{ Plan: { 'Plan Rows': number } }> }>`EXPLAIN (FORMAT JSON) SELECT 1 FROM search_docs d WHERE ${holdsAll(tokens)}${ofCorp}`.execute(
      db,
    );
    return Number(r.rows[0]?.['QUERY PLAN'][0]?.Plan['Plan Rows'] ?? Number.POSITIVE_INFINITY);
  },
};

/** `'a' & 'b':* & ('c' | 'd')`: tokens are [a-z0-9], so quoting needs no escapes. */
function tsQuery(tokens: readonly RequiredToken[]): string {
  return tokens.map((t) => ('anyOf' in t ? `(${t.anyOf.map((a) => `'${a}'`).join(' | ')})` : `'${t.token}'${t.prefix ? ':*' : ''}`)).join(' & ');
}

/** The tokens in order, cut into runs of at most `maxBytes` characters each (at least one run). */
export function splitTokens(tokens: SearchDoc['tokens'], maxBytes: number): string[][] {
  const parts: string[][] = [[]];
  let bytes = 0;
  for (const token of tokens) {
    if (bytes + token.length > maxBytes && parts[parts.length - 1]!.length > 0) {
      parts.push([]);
      bytes = 0;
    }
    parts[parts.length - 1]!.push(token);
    bytes += token.length;
  }
  return parts;
}

/** An entry `d` without parts that holds every token. */
function holdsAllWhole(tokens: readonly RequiredToken[]) {
  return sql<SqlBool>`(d.tsv @@ ${tsQuery(tokens)}::tsquery AND d.parts = 0)`;
}

/** The entry `d` holds every token: in its own tsvector, or, for a message split into parts, each token in some part. */
function holdsAll(tokens: readonly RequiredToken[]) {
  const inSomePart = tokens.map(
    (t) => sql`(d.tsv @@ ${tsQuery([t])}::tsquery OR EXISTS (SELECT 1 FROM search_doc_parts p
      WHERE p.corpid = d.corpid AND p.msgid = d.msgid AND p.tsv @@ ${tsQuery([t])}::tsquery))`,
  );
  return sql<SqlBool>`(d.tsv @@ ${tsQuery(tokens)}::tsquery OR (d.parts > 0 AND ${sql.join(inSomePart, sql` AND `)}))`;
}
