import { type RawBuilder, sql, type SqlBool } from 'kysely';
import type { IdRange, RequiredToken, SearchIndexSql } from './dialect.ts';

/**
 * `holders` and `countHolders` for a database whose planner estimates from the full-text index's
 * statistics how many entries hold the tokens, and picks the driving side itself (PostgreSQL,
 * MariaDB): only the dialect's condition `holdsAll` differs.
 *
 * The entry id is `ord`, the time id of the message's second (time-ids.ts, slot 0), under an index
 * (corpid, ord): the planner sorts a few holders' entries by it before it joins their messages, or
 * walks it newest first and checks each entry, and either way joins only what a page needs.
 */
export function plannerHolders(
  holdsAll: (tokens: readonly RequiredToken[]) => RawBuilder<SqlBool>,
  options: {
    /** SearchIndexSql.holdsAllByText, for walks */
    holdsAllByText?: (tokens: readonly RequiredToken[]) => RawBuilder<SqlBool>;
    /** a count, and holders listed in no order (a count's candidates), check a range that does not narrow the index (`rangeNarrows`) on each holder, and do not ask the id indexes for it */
    checksWideRangeOnEachHolder?: boolean;
    /**
     * `holdsAll` as two conditions that no entry meets both of, whose holders a count counts apart:
     * each then the full-text index's own condition, which it need not check again on each row
     */
    countsApart?: readonly [(tokens: readonly RequiredToken[]) => RawBuilder<SqlBool>, (tokens: readonly RequiredToken[]) => RawBuilder<SqlBool>];
  } = {},
): Pick<SearchIndexSql, 'entryId' | 'holders' | 'countHolders'> {
  const { holdsAllByText } = options;
  const holding = (tokens: readonly RequiredToken[], walks = false) => (walks && holdsAllByText !== undefined ? holdsAllByText(tokens) : holdsAll(tokens));
  // `ord + 0` is no indexed column: the planner then reads the holders the full-text index gives
  // and checks each one's id
  const idsOf = (walks: boolean | undefined, rangeNarrows: boolean | undefined) =>
    options.checksWideRangeOnEachHolder === true && walks !== true && rangeNarrows !== true ? sql`(d.ord + 0)` : sql`d.ord`;
  return {
    entryId: sql<number>`d.ord`,

    holders(db, tokens, corpid, range, newestFirst, walks, rangeNarrows) {
      let q = db
        .selectFrom('search_docs as d')
        .innerJoin('messages as m', (join) => join.onRef('m.corpid', '=', 'd.corpid').onRef('m.msgid', '=', 'd.msgid'))
        .where(holding(tokens, walks))
        .where(inRange(range, newestFirst ? sql`d.ord` : idsOf(walks, rangeNarrows)));
      if (corpid !== undefined) q = q.where('d.corpid', '=', corpid).where('m.corpid', '=', corpid);
      return newestFirst ? q.orderBy(sql`d.ord`, 'desc') : q;
    },

    async countHolders(db, tokens, corpid, cap, range, walks, rangeNarrows, where) {
      const ofCorp = corpid === undefined ? sql`` : sql` AND d.corpid = ${corpid}`;
      const meeting = where === undefined ? sql`` : sql` AND ${where}`;
      const counted = (holds: RawBuilder<SqlBool>) =>
        sql<{
          n: number | string;
        }>`SELECT count(*) AS n FROM (SELECT 1 FROM search_docs d WHERE ${holds} AND ${inRange(range, idsOf(walks, rangeNarrows))}${ofCorp}${meeting} LIMIT ${cap}) x`;
      const apart = walks === true ? undefined : options.countsApart;
      const statement =
        apart === undefined
          ? counted(holding(tokens, walks))
          : sql<{ n: number | string }>`SELECT LEAST((${counted(apart[0](tokens))}) + (${counted(apart[1](tokens))}), ${cap}) AS n`;
      const r = await statement.execute(db);
      return Number(r.rows[0]?.n ?? 0);
    },
  };
}

/** The entry id (`d.ord`, or an expression of it) within the range (TRUE for an open one). */
function inRange(range: IdRange, ids: RawBuilder<unknown> = sql`d.ord`): RawBuilder<SqlBool> {
  const bounds = [...(range.atLeast === undefined ? [] : [sql`${ids} >= ${range.atLeast}`]), ...(range.below === undefined ? [] : [sql`${ids} < ${range.below}`])];
  return bounds.length === 0 ? sql<SqlBool>`TRUE` : sql<SqlBool>`(${sql.join(bounds, sql` AND `)})`;
}
