import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialects/dialect.ts';

/**
 * Index entries now begin with the message's facets (its conversation, sender, day and month; see
 * search/facets.ts), which a filtered search asks the index for. Entries written before lack them,
 * so every message is queued for the index stage again. Until it has caught up, searches say how
 * many messages are not indexed yet, as during any catch-up; `run` (or `reindex`) works the queue
 * off in the background.
 */
export async function up(db: Kysely<any>, d: StoreDialect): Promise<void> {
  const messages = db
    .selectFrom('messages as m')
    .select((eb) => ['m.corpid', 'm.msgid', eb.val(Date.now()).as('queued_at')])
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('search_pending as p').select('p.msgid').whereRef('p.corpid', '=', 'm.corpid').whereRef('p.msgid', '=', 'm.msgid'))),
    );
  await d.ignoreDuplicates(db.insertInto('search_pending').columns(['corpid', 'msgid', 'queued_at']).expression(messages), ['corpid', 'msgid']).execute();
}
