/** What the pull stage writes on a corp's cursor row besides a page's commit (pull-page.ts). */
import type { Kysely } from 'kysely';
import { clipError } from '../runtime/clip.ts';
import type { Database } from '../store/schema.ts';

/** Records a failed pull on the cursor row (shown by status): retrying, or stopped until the configuration is fixed. */
export async function recordPullError(
  db: Kysely<Database>,
  corpid: string,
  failure: { state: 'stopped' | 'retrying'; code: number | null; message: string; at: number },
): Promise<void> {
  await db
    .updateTable('cursors')
    .set({ state: failure.state, last_error_code: failure.code, last_error: clipError(failure.message), last_pull_at: failure.at, updated_at: failure.at })
    .where('corpid', '=', corpid)
    .execute();
}
