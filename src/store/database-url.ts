/** The databases the store speaks, as a database URL names them. */
export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql';

/**
 * Which database a URL names, by its scheme alone: `sqlite:PATH`, `postgres://…` (or
 * `postgresql://`), `mysql://…` (or `mariadb://`); undefined for any other. The configuration and
 * the store read URLs through this one function, so they never disagree on what is a database URL.
 */
export function databaseKind(url: string): DatabaseKind | undefined {
  if (url.startsWith('sqlite:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  if (/^(mysql|mariadb):\/\//.test(url)) return 'mysql';
  return undefined;
}
