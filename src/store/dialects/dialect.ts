import type {
  ColumnDataType,
  CreateIndexBuilder,
  CreateTableBuilder,
  Dialect,
  Expression,
  Insertable,
  InsertQueryBuilder,
  Kysely,
  RawBuilder,
  SelectQueryBuilder,
  SqlBool,
  Transaction,
} from 'kysely';
import type { Database } from '../schema.ts';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/**
 * Everything that differs between the three databases, in one object per dialect
 * (dialect-specific SQL lives in one file per dialect; everything else is portable).
 */
export interface StoreDialect {
  readonly name: DialectName;
  /** The database URL with any password removed, for messages and logs. */
  readonly displayUrl: string;
  createKyselyDialect(): Dialect;
  /** Column types that have no portable Kysely spelling. */
  readonly types: {
    /** unbounded text (messages, sealed secrets) */
    longText: ColumnDataType | Expression<unknown>;
    /** bytes kept exactly (decrypted JSON may hold NUL and invalid UTF-8) */
    blob: ColumnDataType | Expression<unknown>;
    /** 64-bit signed integer (times in ms, counters) */
    bigint: ColumnDataType | Expression<unknown>;
  };
  /** Adds an auto-increment integer primary key named `id`. */
  addIdColumn<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'>;
  /** Table options (MySQL: InnoDB, utf8mb4 with a binary collation so ids are case-sensitive). */
  tableOptions<T extends string, C extends string>(table: CreateTableBuilder<T, C>): CreateTableBuilder<T, C>;
  /** Makes an INSERT skip rows whose key already exists (and nothing else: no silent truncation). */
  ignoreDuplicates<QB extends InsertQueryBuilder<any, any, any>>(query: QB, keyColumns: readonly string[]): QB;
  /**
   * Inserts rows of one shape inside the caller's transaction, skipping those whose key exists;
   * returns how many were inserted. The bulk writes of ingest (envelopes, messages, media jobs) go
   * through here, so each database gets its cheapest way: see insertInChunks and the SQLite dialect.
   */
  insertIgnoring<T extends keyof Database & string>(
    trx: Transaction<Database>,
    table: T,
    rows: ReadonlyArray<Insertable<Database[T]>>,
    keyColumns: readonly string[],
  ): Promise<number>;
  /**
   * What an UPDATE reports as its count: the rows its WHERE matched, also those it left unchanged.
   * Leases rely on it (store/claims): a holder renewing its lease within the same millisecond
   * writes the values already there, and must still count 1. MySQL counts changed rows unless the
   * client asks for found rows, which mysql.ts does.
   */
  readonly updateCounts: 'matched rows';
  /**
   * True when a batch of queued messages is best read with its range of msgtime beside its msgids
   * (PostgreSQL): before its planner has statistics of the messages (autovacuum not yet run, or
   * off), it read the corp's every message through another index for each batch. MariaDB, given
   * the range, read the corp's every message through its primary key's prefix; SQLite plans
   * either well.
   */
  readonly readsQueuedByTime: boolean;
  /** A deadlock or serialization failure: the transaction can be run again as it is. */
  isLockConflict(err: unknown): boolean;
  /**
   * Restricts an index to rows where `column` is not null, where the database has partial indexes
   * (MySQL has none: it indexes every row).
   */
  whereNotNullIfPartial<C extends string>(index: CreateIndexBuilder<C>, column: C): CreateIndexBuilder<C>;
  /**
   * Locks the rows a SELECT reads until the transaction ends, skipping rows another transaction has
   * locked (`FOR UPDATE SKIP LOCKED`). SQLite has one writer at a time, so it reads them as they are.
   */
  forUpdateSkipLocked<QB extends SelectQueryBuilder<any, any, any>>(query: QB): QB;
  /**
   * Takes the database's write lock at the start of a transaction that reads before it writes,
   * where the database has one lock for all writes (SQLite: a no-op DELETE on `table`). There, a
   * transaction that read first and then wants to write after another process has committed fails
   * at once (SQLITE_BUSY_SNAPSHOT), while one that asks for the lock first waits its turn. The
   * others lock the rows each statement touches, and need nothing.
   */
  lockForWrite(trx: Transaction<Database>, table: keyof Database & string): Promise<void>;
  /** The message search index, on the database's own full-text machinery. */
  readonly search: SearchIndexSql;
}

/** One message's entry in the search index: its distinct index tokens (ASCII [a-z0-9], 3–84 characters). */
export interface SearchDoc {
  readonly corpid: string;
  readonly msgid: string;
  /** the message's conversation: kept in its entry (search_docs.conversation_key) */
  readonly conversation_key: string;
  /** when the message was sent (milliseconds): a dialect whose entry ids follow time files it by this (time-ids.ts) */
  readonly msgtime: number;
  readonly tokens: readonly string[];
}

/** The tables of a search by their aliases: index entries `d`, messages `m`. */
export type SearchTables = Database & { d: Database['search_docs']; m: Database['messages'] };

/** search_docs `d` joined with messages `m`, nothing selected yet. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- Kysely's own type of a query that selects nothing
export type SearchJoin = SelectQueryBuilder<SearchTables, 'd' | 'm', {}>;

/**
 * What a candidate must hold: a token (the whole token, or with `prefix` any token starting with
 * it), or at least one of a group of whole tokens (`anyOf`: a filter's facets, search/facets.ts).
 */
export type RequiredToken = ({ readonly token: string; readonly prefix: boolean } | { readonly anyOf: readonly string[] }) & {
  /**
   * Many more entries hold it than the query's rarest token (search-messages.ts): where the
   * full-text index hands back every holder of each token asked (holdsAllByText), it is checked on
   * the entries the other tokens find instead of asked of the index. Elsewhere it is asked as any.
   */
  readonly common?: boolean;
};

/**
 * The search index of one dialect. Every dialect keeps one row per indexed message in `search_docs`
 * (corpid, msgid; keyed by them on PostgreSQL and MariaDB, by the entry's id alone on SQLite),
 * plus its full-text structure over the message's tokens; what a query asks is always "every one
 * of these tokens (or groups of tokens)", so no index needs positions.
 */
export interface SearchIndexSql {
  /** Creates search_docs and its full-text index (migration 0010). */
  createIndex(db: Kysely<any>, dialect: StoreDialect): Promise<void>;
  /**
   * Lets one message's entry span several rows where one full-text value cannot hold every token
   * a message may have (migration 0014). A dialect without such a limit does nothing.
   */
  createDocParts(db: Kysely<any>, dialect: StoreDialect): Promise<void>;
  /**
   * Gives the entries ids that follow time (migration 0020, time-ids.ts): `entryId`. True when
   * it could not, and deleted the entries instead, to be written again by the index stage.
   */
  orderByTime(db: Kysely<any>): Promise<boolean>;
  /**
   * Lets the database find the entries of a range of ids cheaply beside a token's (migration 0021):
   * PostgreSQL reads a rare token's holders in slices of time (search-messages.ts), and a BRIN index
   * on `ord` gives it each slice's table pages almost for free. The others need nothing: SQLite's
   * ids are FTS5's rowids, and MariaDB walks its (corpid, ord) index.
   */
  createIdRangeIndex(db: Kysely<any>): Promise<void>;
  /**
   * Files the key on (corpid, msgid) behind the entry's second (migration 0022): msgids come in
   * no order, so a key that starts with them made each index batch write a page of it per message
   * on SQLite; behind the second, a batch's keys go next to each other, as its ids do. A message's
   * time never changes, so its entry is found by (second, corpid, msgid). PostgreSQL and MariaDB
   * keep theirs as it is.
   */
  keyEntriesBySecond(db: Kysely<any>): Promise<void>;
  /**
   * Keeps the list of the corps that have index entries, where counts ask it (migration 0026):
   * SQLite's FTS5 knows no corp, so a count of one corp looked each holder's entry up for its corp
   * (5.4 of 6.4 ms for 10,000 holders) until the list says that no other corp has an entry. The
   * others keep the corp beside each entry's tokens and need nothing.
   */
  listCorpsIndexed(db: Kysely<any>): Promise<void>;
  /** Writes the index entries of these messages inside the caller's transaction, replacing any they had. */
  writeDocs(trx: Transaction<Database>, docs: readonly SearchDoc[]): Promise<void>;
  /** Deletes the index entries of one corp (every corp when absent). */
  deleteDocs(trx: Transaction<Database>, corpid: string | undefined): Promise<void>;
  /** A condition on `search_docs` aliased `d`: the entry holds every token given (at least one). */
  holdsAll(tokens: readonly RequiredToken[]): RawBuilder<SqlBool>;
  /** The entry's id (`d`'s) as a number: it follows time (time-ids.ts). */
  readonly entryId: RawBuilder<number>;
  /**
   * `search_docs` aliased `d` joined with the `messages` aliased `m` it names, only the entries that
   * hold every token (of one corp, when given) and have ids in `range`. `newestFirst` orders them by
   * descending id, the newest second first, which a page needs and a count does not: SQLite's FTS5
   * hands a token's entries back in id order, PostgreSQL and MariaDB sort a few holders' ids or walk
   * the id index, as their planners choose, and each joins only the messages a page shows. The
   * caller adds filters, a limit, and `entryId` to what it selects. `rangeNarrows`: the range is a
   * time filter's that no time facet of the tokens narrows the index to already (without a time
   * filter it is the corp's span, or its rest past a page); a dialect listing holders in no order
   * may ask its id index for the range only then, and otherwise checks it on each holder.
   */
  holders(
    db: Kysely<Database>,
    tokens: readonly RequiredToken[],
    corpid: string | undefined,
    range: IdRange,
    newestFirst: boolean,
    walks?: boolean,
    rangeNarrows?: boolean,
  ): SearchJoin;
  /**
   * Where the full-text index hands back every holder of a token before any order or limit applies
   * (MariaDB's InnoDB FULLTEXT: 250 ms for a token 86,000 of a million entries hold, with every
   * page in memory), the same condition as `holdsAll` checked on each entry's own tokens. A search
   * whose tokens many of the newest entries hold walks the id index newest first with it
   * (`walks` of `holders` and `countHolders`), and reads about a page's worth of entries.
   */
  holdsAllByText?(tokens: readonly RequiredToken[]): RawBuilder<SqlBool>;
  /**
   * Where the database would walk the id index newest first even for tokens few entries hold (a
   * walk past a hundred thousand entries for one page of a rare term): the planner's own estimate
   * of how many entries hold the tokens, asked without running the query. Up to SORTS_UP_TO, the
   * search lists the holders' ids itself, sorts them, and reads their messages a batch at a time.
   */
  estimateHolders?(db: Kysely<Database>, tokens: readonly RequiredToken[], corpid: string | undefined): Promise<number>;
  /**
   * Where a limited reader's scope is better asked as the list of its conversations than as the
   * condition on their participants (access/scope-sql.ts). PostgreSQL cannot estimate that
   * condition, guessed that a viewer's scope held a few of a common word's holders, and sorted all
   * of the viewer's (240,000 messages, 3 s) for one page; a list it estimates from its statistics.
   * SQLite read the participants again for each statement of a search (5 ms for a viewer's 3,042
   * conversations), and checks a list against an index it builds of it.
   */
  readonly scopeAsList?: ConversationList;
  /**
   * Where the full-text index builds the whole list of a token's holders before any limit applies
   * (PostgreSQL's GIN bitmap: 40 ms for a token 86,044 of a million entries hold), a count whose
   * holders the database estimates at twice its cap or more counts the newest days first, each
   * asked with its day's facet, which the index intersects with the token's list without reading
   * all of it (search-messages.ts, COUNT_DAYS).
   */
  readonly countsByDays?: boolean;
  /**
   * Where the full-text index seeks a range of ids by itself (SQLite: FTS5's rowids are the ids), a
   * time filter is asked of it as that range alone, without its days' or months' facets: ANDed
   * with the term, the facets' lists only cost more. The common word's holders in one day (7,332)
   * were counted in 2.5 ms with the day's facets, 1.6 without (the statement's median of 30).
   */
  readonly seeksIdRanges?: boolean;
  /**
   * Where a search's statements need settings of their own: runs `work` (a page with its count, or
   * a count) on a connection set for them, and gives back what it gives. PostgreSQL runs them in one
   * read-only transaction without parallel workers. Without it, a search runs on `db` as it is.
   */
  searchSession?<T>(db: Kysely<Database>, work: (db: Kysely<Database>) => Promise<T>): Promise<T>;
  /**
   * How many index entries (of one corp, when given; with ids in `range`) hold every token, counted
   * from the index alone and only up to `cap`. `rangeNarrows` as for `holders`: when it is not
   * set, the range is the corp's span (or its rest), or the tokens hold a time facet whose days or
   * months it mostly covers (search/facets.ts, timeFacetsFitRange), so the holders are mostly in
   * the range already; a dialect may then check the range on each holder rather than ask its id
   * index. `where`: a condition on the entry `d` each counted one must meet as well (a conversation,
   * a reader's scope).
   */
  countHolders(
    db: Kysely<Database>,
    tokens: readonly RequiredToken[],
    corpid: string | undefined,
    cap: number,
    range: IdRange,
    walks?: boolean,
    rangeNarrows?: boolean,
    where?: RawBuilder<SqlBool>,
  ): Promise<number>;
}

/**
 * How a database is best asked for messages in a list of conversations, and the longest list worth
 * asking (SearchIndexSql.scopeAsList).
 */
export interface ConversationList {
  readonly upTo: number;
  /** the entry's conversation, `d.conversation_key`, is one of `keys` (at least one) */
  inList(keys: readonly string[]): RawBuilder<SqlBool>;
}

/** A range of entry ids: from `atLeast` (inclusive) to `below` (exclusive), each side open when absent. */
export interface IdRange {
  readonly atLeast?: number;
  readonly below?: number;
}

/**
 * insertIgnoring for a client-server database: one multi-row INSERT per chunk, so a thousand rows
 * cost a few round trips, not a thousand.
 */
export async function insertInChunks<T extends keyof Database & string>(
  dialect: Pick<StoreDialect, 'ignoreDuplicates'>,
  trx: Transaction<Database>,
  table: T,
  rows: ReadonlyArray<Insertable<Database[T]>>,
  keyColumns: readonly string[],
  chunk = 200,
): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const result = await dialect.ignoreDuplicates(trx.insertInto(table).values(part as any), keyColumns).executeTakeFirst();
    // MySQL counts an ON DUPLICATE KEY no-op as 0 and a real insert as 1, like the others
    inserted += Math.min(Number(result.numInsertedOrUpdatedRows ?? part.length), part.length);
  }
  return inserted;
}

/** The error's driver code and number, as the three drivers report them. */
export function errorCodes(err: unknown): { code: unknown; errno: unknown } {
  const e = err as { code?: unknown; errno?: unknown } | null;
  return { code: e?.code, errno: e?.errno };
}

/** Removes the password from a URL so it can be shown. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@/]*@/, '//$1:***@');
  }
}
