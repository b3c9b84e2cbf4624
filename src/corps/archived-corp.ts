import type { Kysely } from 'kysely';
import { NotFoundError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';

/**
 * Whether the archive knows `corpid`: configured now, or archived before (a removed corp keeps its
 * cursor, envelopes and messages, and can still be exported and searched).
 */
async function corpIsArchived(db: Kysely<Database>, corpid: string): Promise<boolean> {
  for (const table of ['corps', 'cursors', 'envelopes', 'messages'] as const) {
    const row = await db.selectFrom(table).select('corpid').where('corpid', '=', corpid).limit(1).executeTakeFirst();
    if (row) return true;
  }
  return false;
}

/**
 * Refuses a corp the archive does not know (CORP_NOT_FOUND), so that an operator's mistyped
 * `--corp` is told so, not answered with nothing found.
 */
export async function requireArchivedCorp(db: Kysely<Database>, corpid: string): Promise<void> {
  if (!(await corpIsArchived(db, corpid))) {
    throw new NotFoundError('CORP_NOT_FOUND', `corp ${corpid} is unknown: it is not configured and nothing of it is archived (see \`wecom-archive corp list\`)`);
  }
}

/**
 * For a listing narrowed by `--corp` that found `listed` rows: when it found none, refuses a corp
 * the archive does not know. Only then, since keys, sinks, callback apps and callback events
 * outlive the corp's removal: a corp configured, never pulled and removed has none of the rows
 * requireArchivedCorp looks at, yet its rows still list.
 */
export async function requireArchivedCorpOfNone(db: Kysely<Database>, corpid: string | undefined, listed: number): Promise<void> {
  if (listed === 0 && corpid !== undefined) await requireArchivedCorp(db, corpid);
}
