/** Migration 0010 on an archive that already holds messages: they are queued, and the index stage indexes them. */
import { expect, it } from 'vitest';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import { createLogger } from '../../src/app/logger.ts';
import { reindexSearch } from '../../src/app/search-reindex.ts';
import { migrateStore, openStore } from '../../src/store/open-store.ts';
import { parseSearchQuery } from '../../src/search/query.ts';
import { searchMessages } from '../../src/search/search-messages.ts';
import { appOn } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';
import { openStoreMigratedTo } from '../support/older-schema.ts';

describeEachDialect('search index migration', ({ url }) => {
  it('queues every message archived before the index existed, and a search finds them once indexed', async () => {
    const location = await url();
    const { store: early, db } = await openStoreMigratedTo(location, '0009-gap-kinds-refresh-lease');
    const message = (n: number, content: string) =>
      messageRow({
        corpid: 'wwold',
        msgid: `m${n}`,
        seq: BigInt(n),
        msgtime: 1_800_000_000_000 + n,
        raw: Buffer.from(JSON.stringify({ msgid: `m${n}`, action: 'send', from: 'a', tolist: ['b'], msgtype: 'text', text: { content } })),
      });
    await db
      .insertInto('messages')
      .values([message(1, '合同已经签好'), message(2, '明天讨论合同细节'), message(3, 'nothing here')])
      .execute();
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toContain('0010-search-index');
      const queued = await store.db.selectFrom('search_pending').select('msgid').orderBy('msgid').execute();
      expect(queued.map((r) => r.msgid)).toEqual(['m1', 'm2', 'm3']);
      const query = parseSearchQuery('合同', { corpid: 'wwold' });
      expect(await searchMessages(store.db, store.dialect, EVERYTHING, query)).toMatchObject({ hits: [], notIndexed: 3 });
      await reindexSearch(appOn(store), createLogger('silent'), 'wwold', new AbortController().signal, () => undefined);
      const page = await searchMessages(store.db, store.dialect, EVERYTHING, query);
      expect(page.hits.map((h) => h.msgid)).toEqual(['m2', 'm1']);
      expect(page).toMatchObject({ next: undefined, notIndexed: 0 });
    } finally {
      await store.close();
    }
  });
});
