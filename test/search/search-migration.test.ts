/**
 * Migration 0010 on an archive that already holds messages: they are queued, and the index stage
 * indexes them. Migration 0020 on an indexed archive: where entry ids now follow time (SQLite) the
 * entries are written again, elsewhere they stay.
 */
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
    await db
      .insertInto('messages')
      .values([oldMessage(1, '合同已经签好'), oldMessage(2, '明天讨论合同细节'), oldMessage(3, 'nothing here')])
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

  it('writes the entries of an indexed archive again where entry ids now follow time, and keeps them elsewhere', async () => {
    const location = await url();
    const { store: early, db } = await openStoreMigratedTo(location, '0019-wecom-login');
    await db
      .insertInto('messages')
      .values([oldMessage(1, '合同已经签好'), oldMessage(2, '明天讨论合同细节'), oldMessage(3, 'nothing here')])
      .execute();
    await db
      .insertInto('search_pending')
      .values([1, 2, 3].map((n) => ({ corpid: 'wwold', msgid: `m${n}`, queued_at: 1 })))
      .execute();
    await reindexSearch(appOn(early), createLogger('silent'), 'wwold', new AbortController().signal, () => undefined);
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toEqual(['0020-search-time-ids']);
      const query = parseSearchQuery('合同', { corpid: 'wwold' });
      const rekeyed = store.dialect.search.byTime !== undefined;
      expect(await searchMessages(store.db, store.dialect, EVERYTHING, query)).toMatchObject(
        rekeyed ? { hits: [], notIndexed: 3 } : { hits: [{ msgid: 'm2' }, { msgid: 'm1' }], notIndexed: 0 },
      );
      await reindexSearch(appOn(store), createLogger('silent'), 'wwold', new AbortController().signal, () => undefined);
      const page = await searchMessages(store.db, store.dialect, EVERYTHING, query);
      expect(page.hits.map((h) => h.msgid)).toEqual(['m2', 'm1']);
      expect(page).toMatchObject({ next: undefined, notIndexed: 0 });
    } finally {
      await store.close();
    }
  });
});

function oldMessage(n: number, content: string) {
  return messageRow({
    corpid: 'wwold',
    msgid: `m${n}`,
    seq: BigInt(n),
    msgtime: 1_800_000_000_000 + n,
    raw: Buffer.from(JSON.stringify({ msgid: `m${n}`, action: 'send', from: 'a', tolist: ['b'], msgtype: 'text', text: { content } })),
  });
}
