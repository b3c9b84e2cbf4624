import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.ts';

/**
 * The same database, but every row it reads that has an `updated_at` comes back as it was before
 * its last change (one millisecond earlier), as a reader sees it who read just before another
 * process changed it: a compare-and-set on the row as read must take nothing from such a read.
 */
export function readsBeforeLastChange(db: Kysely<Database>): Kysely<Database> {
  return db.withPlugin({
    transformQuery: (args) => args.node,
    transformResult: async ({ result }) => ({
      ...result,
      rows: result.rows.map((row) => ('updated_at' in row ? { ...row, updated_at: Number(row.updated_at) - 1 } : row)),
    }),
  });
}
