import { type RawBuilder, sql, type SqlBool } from 'kysely';
import type { RequiredToken, SearchIndexSql } from './dialect.ts';

/**
 * `holders` and `countHolders` for a database whose planner estimates from the full-text index's
 * statistics how many entries hold the tokens, and picks the driving side itself (PostgreSQL,
 * MariaDB): only the dialect's condition `holdsAll` differs.
 */
export function plannerHolders(holdsAll: (tokens: readonly RequiredToken[]) => RawBuilder<SqlBool>): Pick<SearchIndexSql, 'holders' | 'countHolders' | 'byTime'> {
  const holders: SearchIndexSql['holders'] = (db, tokens, _driver, corpid) => {
    const q = db
      .selectFrom('search_docs as d')
      .innerJoin('messages as m', (join) => join.onRef('m.corpid', '=', 'd.corpid').onRef('m.msgid', '=', 'd.msgid'))
      .where(holdsAll(tokens));
    return corpid === undefined ? q : q.where('d.corpid', '=', corpid).where('m.corpid', '=', corpid);
  };
  return {
    holders,

    // `ord` is the second of the message's time as a time id (time-ids.ts, slot 0), under an index
    // (corpid, ord): the planner sorts a few holders' entries by it before it joins their messages,
    // or walks it newest first and checks each entry, and either way joins only what a page needs
    byTime: {
      entryId: sql<number>`d.ord`,
      holdersInRange(db, tokens, corpid, range, newestFirst) {
        let q = holders(db, tokens, 'index', corpid);
        if (range.atLeast !== undefined) q = q.where(sql<SqlBool>`d.ord >= ${range.atLeast}`);
        if (range.below !== undefined) q = q.where(sql<SqlBool>`d.ord < ${range.below}`);
        return newestFirst ? q.orderBy(sql`d.ord`, 'desc') : q;
      },
    },

    async countHolders(db, tokens, corpid, cap) {
      const ofCorp = corpid === undefined ? sql`` : sql` AND d.corpid = ${corpid}`;
      const r = await sql<{ n: number | string }>`SELECT count(*) AS n FROM (SELECT 1 FROM search_docs d WHERE ${holdsAll(tokens)}${ofCorp} LIMIT ${cap}) x`.execute(db);
      return Number(r.rows[0]?.n ?? 0);
    },
  };
}
