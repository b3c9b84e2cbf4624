import type { ColumnDataType, CreateTableBuilder, Dialect, Expression, InsertQueryBuilder } from 'kysely';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/**
 * Everything that differs between the three databases, in one object per dialect
 * (style.md: dialect-specific SQL in one file per dialect, everything else portable).
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
