/**
 * Migration 0010 on an archive that already holds messages: they are queued, and the index stage
 * indexes them. Migration 0020 on an indexed archive: where entry ids now follow time (SQLite) the
 * entries are written again, elsewhere they stay. Migration 0022: SQLite's entries are keyed by their
 * second first, and are still found and replaced. Migration 0023: the queue keyed by time keeps what
 * was queued. Migration 0024: the entries get their messages' conversations. Migration 0026: SQLite
 * lists the corps that have entries.
 */
import { type Kysely, sql } from 'kysely';
import { expect, it } from 'vitest';
import { indexDocs } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import { entrySecond, nextIdOf, secondIdOf } from '../../src/store/dialects/time-ids.ts';
import { EVERYTHING, type ReadScope } from '../../src/access/read-scope.ts';
import { createLogger } from '../../src/app/logger.ts';
import { reindexSearch } from '../../src/app/search-reindex.ts';
import { migrationsFor } from '../../src/store/migrations/index.ts';
import { migrateStore, openStore, type Store } from '../../src/store/open-store.ts';
import { parseSearchQuery, type SearchQuery } from '../../src/search/query.ts';
import { countMatches, searchMessages } from '../../src/search/search-messages.ts';
import { appOn } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';
import { openStoreMigratedTo } from '../support/older-schema.ts';

describeEachDialect('search index migration', ({ url }) => {
  it('queues every message archived before the index existed, and a search finds them once indexed', async () => {
    const location = await url();
    const { store: early } = await oldArchive(location, '0009-gap-kinds-refresh-lease');
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toContain('0010-search-index');
      const queued = await store.db.selectFrom('search_pending').select('msgid').orderBy('msgid').execute();
      expect(queued.map((r) => r.msgid)).toEqual(['m1', 'm2', 'm3']);
      const query = parseSearchQuery('合同', { corpid: 'wwold' });
      expect(await searchMessages(store.db, store.dialect, EVERYTHING, query)).toMatchObject({ hits: [], notIndexed: 3 });
      await expectFoundOnceIndexed(store, query);
    } finally {
      await store.close();
    }
  });

  it('gives the entries of an indexed archive ids that follow time, writing them again where it must', async () => {
    const location = await url();
    const { store: early, db } = await oldArchive(location, '0019-wecom-login');
    // the entries as the index stage wrote them before 0020: SQLite's ids in the order indexed
    await writeOldEntries(early, db, false);
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toEqual(migrationsAfter(store, '0019-wecom-login'));
      if (store.dialect.name === 'postgres') {
        // 0021: the BRIN index a search reads a slice of time through
        const brin = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'search_docs' AND indexname = 'search_docs_ord_brin'`.execute(store.db);
        expect(brin.rows.map((r) => r.indexdef)).toEqual([expect.stringContaining('USING brin (ord)')]);
      }
      const query = parseSearchQuery('合同', { corpid: 'wwold' });
      // SQLite writes its entries again; PostgreSQL and MariaDB give theirs a time from their messages
      const rekeyed = store.dialect.name === 'sqlite';
      expect(await searchMessages(store.db, store.dialect, EVERYTHING, query)).toMatchObject(
        rekeyed ? { hits: [], notIndexed: 3 } : { hits: [{ msgid: 'm2' }, { msgid: 'm1' }], notIndexed: 0 },
      );
      if (!rekeyed) {
        const ords = await sql<{ ord: number | string }>`SELECT ord FROM search_docs ORDER BY msgid`.execute(store.db);
        expect(ords.rows.map((r) => Number(r.ord))).toEqual([1, 2, 3].map((n) => secondIdOf(1_800_000_000_000 + n)));
      }
      await expectFoundOnceIndexed(store, query);
    } finally {
      await store.close();
    }
  });

  it('keeps the entries when SQLite files their key behind their second (0022), and a reindex replaces each by it', async () => {
    const location = await url();
    const { store: early, db } = await oldArchive(location, '0021-search-id-ranges');
    // the entries as the index stage wrote them at 0021 (its queue was keyed otherwise then)
    await writeOldEntries(early, db, true);
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toEqual(migrationsAfter(store, '0021-search-id-ranges'));
      if (store.dialect.name === 'sqlite') {
        // one key, on (the entry's second, corpid, msgid): -2 is SQLite's column number for an expression
        const keys = await sql<{ name: string }>`SELECT name FROM pragma_index_list('search_docs')`.execute(store.db);
        expect(keys.rows.map((k) => k.name)).toEqual(['search_docs_msg']);
        const columns = await sql<{ cid: number; name: string | null }>`SELECT cid, name FROM pragma_index_xinfo('search_docs_msg') WHERE key = 1`.execute(store.db);
        expect(columns.rows).toEqual([
          { cid: -2, name: null },
          { cid: 1, name: 'corpid' },
          { cid: 2, name: 'msgid' },
        ]);
      }
      const query = parseSearchQuery('合同', { corpid: 'wwold' });
      expect(await searchMessages(store.db, store.dialect, EVERYTHING, query)).toMatchObject({ hits: [{ msgid: 'm2' }, { msgid: 'm1' }], notIndexed: 0 });
      await expectFoundOnceIndexed(store, query);
      const entries = await store.db.selectFrom('search_docs').select('msgid').orderBy('msgid').execute();
      expect(entries.map((e) => e.msgid)).toEqual(['m1', 'm2', 'm3']);
    } finally {
      await store.close();
    }
  });

  it('keeps the queued messages when the queue is keyed by time (0023), and the index stage then takes the oldest first', async () => {
    const location = await url();
    const { store: early, db } = await oldArchive(location, '0022-search-keys-by-second');
    // a fourth message, first by its id and the newest by time; all four queued, as before 0023
    await db
      .insertInto('messages')
      .values({ ...oldMessage(4, '合同的最新版本'), msgid: 'a4' })
      .execute();
    await db
      .insertInto('search_pending')
      .values(['a4', 'm1', 'm2', 'm3'].map((msgid) => ({ corpid: 'wwold', msgid, queued_at: 1 })))
      .execute();
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toEqual(migrationsAfter(store, '0022-search-keys-by-second'));
      const queue = await store.db.selectFrom('search_pending').selectAll().orderBy('corpid').orderBy('msgtime').orderBy('msgid').execute();
      expect(queue.map((q) => ({ ...q, msgtime: Number(q.msgtime), queued_at: Number(q.queued_at) }))).toEqual(
        ['m1', 'm2', 'm3', 'a4'].map((msgid, i) => ({ corpid: 'wwold', msgtime: 1_800_000_000_001 + i, msgid, queued_at: 1 })),
      );
      const repository = new IndexRepository(store.db, store.dialect);
      expect(await repository.indexBatch(2, indexDocs)).toBe(2);
      // the two oldest, not the first two by id
      const entries = await store.db.selectFrom('search_docs').select('msgid').orderBy('msgid').execute();
      expect(entries.map((e) => e.msgid)).toEqual(['m1', 'm2']);
      expect(await repository.backlog('wwold')).toEqual([{ corpid: 'wwold', pending: 2 }]);
      const query = parseSearchQuery('合同', { corpid: 'wwold' });
      await reindexSearch(appOn(store), createLogger('silent'), 'wwold', new AbortController().signal, () => undefined);
      const page = await searchMessages(store.db, store.dialect, EVERYTHING, query);
      expect(page.hits.map((h) => h.msgid)).toEqual(['a4', 'm2', 'm1']);
    } finally {
      await store.close();
    }
  });

  it('gives the entries written before 0024 their conversation, so a conversation filter and a limited scope find them without a reindex', async () => {
    const location = await url();
    const { store: early, db } = await oldArchive(location, '0023-search-queue-by-time');
    // a fourth message holding 合同, in a conversation of its own
    await db
      .insertInto('messages')
      .values({ ...oldMessage(4, '合同的最新版本'), conversation_key: 'room:r1', roomid: 'r1' })
      .execute();
    // the conversations a limited scope is read through, as the decrypt stage keeps them
    const conversation = (key: string, kind: string, roomid: string, last: number) => ({
      corpid: 'wwold',
      conversation_key: key,
      kind,
      roomid,
      message_count: 1,
      first_msgtime: 1_800_000_000_001,
      last_msgtime: 1_800_000_000_000 + last,
      last_seq: String(last).padStart(20, '0'),
      last_msgid: `m${last}`,
    });
    await db
      .insertInto('conversations')
      .values([conversation('pair:a|b', 'single', '', 3), conversation('room:r1', 'group', 'r1', 4)])
      .execute();
    await writeOldEntries(early, db, true);
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toEqual(migrationsAfter(store, '0023-search-queue-by-time'));
      const entries = await store.db.selectFrom('search_docs').select(['msgid', 'conversation_key']).orderBy('msgid').execute();
      expect(entries).toEqual([
        { msgid: 'm1', conversation_key: 'pair:a|b' },
        { msgid: 'm2', conversation_key: 'pair:a|b' },
        { msgid: 'm3', conversation_key: 'pair:a|b' },
        { msgid: 'm4', conversation_key: 'room:r1' },
      ]);
      const search = async (scope: ReadScope, conversationKey?: string) => {
        const page = await searchMessages(store.db, store.dialect, scope, parseSearchQuery('合同', { corpid: 'wwold', conversationKey }), { count: 100 });
        return { hits: page.hits.map((h) => h.msgid), count: page.count, notIndexed: page.notIndexed };
      };
      expect(await search(EVERYTHING, 'room:r1')).toEqual({ hits: ['m4'], count: { count: 1, atLeast: false }, notIndexed: 0 });
      expect(await search(EVERYTHING, 'pair:a|b')).toEqual({ hits: ['m2', 'm1'], count: { count: 2, atLeast: false }, notIndexed: 0 });
      const viewer: ReadScope = { kind: 'limited', corps: [], departments: [], conversations: [{ corpid: 'wwold', conversation: 'pair:a|b' }] };
      expect(await search(viewer)).toEqual({ hits: ['m2', 'm1'], count: { count: 2, atLeast: false }, notIndexed: 0 });
      expect(await search(viewer, 'room:r1')).toEqual({ hits: [], count: { count: 0, atLeast: false }, notIndexed: 0 });
    } finally {
      await store.close();
    }
  });

  it('lists the corps of the entries written before 0026, so that one corp’s count leaves the others’ out', async () => {
    const location = await url();
    const { store: early, db } = await oldArchive(location, '0025-participants-by-user');
    await db
      .insertInto('messages')
      .values({ ...oldMessage(4, '合同的最新版本'), corpid: 'wwother' })
      .execute();
    await writeOldEntries(early, db, true);
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toEqual(migrationsAfter(store, '0025-participants-by-user'));
      if (store.dialect.name === 'sqlite') {
        const listed = await sql<{ corpid: string }>`SELECT corpid FROM search_corps ORDER BY corpid`.execute(store.db);
        expect(listed.rows.map((r) => r.corpid)).toEqual(['wwold', 'wwother']);
      }
      const count = async (corpid: string) => (await countMatches(store.db, store.dialect, EVERYTHING, parseSearchQuery('合同', { corpid }))).count;
      expect([await count('wwold'), await count('wwother')]).toEqual([2, 1]);
    } finally {
      await store.close();
    }
  });
});

/**
 * The entries of the archive's messages as the index stage wrote them before 0024, without their
 * conversation: with ids that follow time (`timeIds`, 0020 on), else SQLite's in the order indexed.
 */
async function writeOldEntries(early: Store, db: Kysely<any>, timeIds: boolean): Promise<void> {
  const messages = await early.db.selectFrom('messages').select(['corpid', 'msgid', 'conversation_key', 'from_id', 'msgtime', 'raw']).orderBy('msgid').execute();
  const highest = new Map<number, number>();
  for (const [k, e] of indexDocs(messages).entries()) {
    const tokens = e.tokens.join(' ');
    const ord = timeIds ? sql`, ${secondIdOf(e.msgtime)}` : sql``;
    const ordColumn = timeIds ? sql`, ord` : sql``;
    if (early.dialect.name === 'sqlite') {
      const second = entrySecond(e.msgtime);
      const id = timeIds ? nextIdOf(second, highest.get(second)) : k + 1;
      highest.set(second, id);
      await sql`INSERT INTO search_docs (id, corpid, msgid) VALUES (${id}, ${e.corpid}, ${e.msgid})`.execute(db);
      await sql`INSERT INTO search_fts (rowid, tokens) VALUES (${id}, ${tokens})`.execute(db);
    } else if (early.dialect.name === 'postgres') {
      await sql`INSERT INTO search_docs (corpid, msgid, tsv${ordColumn}) VALUES (${e.corpid}, ${e.msgid}, array_to_tsvector(${e.tokens}::text[])${ord})`.execute(db);
    } else {
      await sql`INSERT INTO search_docs (corpid, msgid, tokens${ordColumn}) VALUES (${e.corpid}, ${e.msgid}, ${tokens}${ord})`.execute(db);
    }
  }
}

/** The names of every migration after `last`, in order: what migrating an archive that stops at `last` runs. */
function migrationsAfter(store: Store, last: string): string[] {
  const names = Object.keys(migrationsFor(store.dialect));
  return names.slice(names.indexOf(last) + 1);
}

/** An archive whose schema stops at migration `last`, holding the messages m1, m2 and m3. */
async function oldArchive(location: string, last: string) {
  const early = await openStoreMigratedTo(location, last);
  await early.db
    .insertInto('messages')
    .values([oldMessage(1), oldMessage(2), oldMessage(3)])
    .execute();
  return early;
}

/** `reindex` works the queue off; then the two messages holding 合同 are found, newest first. */
async function expectFoundOnceIndexed(store: Store, query: SearchQuery): Promise<void> {
  await reindexSearch(appOn(store), createLogger('silent'), 'wwold', new AbortController().signal, () => undefined);
  const page = await searchMessages(store.db, store.dialect, EVERYTHING, query);
  expect(page.hits.map((h) => h.msgid)).toEqual(['m2', 'm1']);
  expect(page).toMatchObject({ next: undefined, notIndexed: 0 });
}

const CONTENTS = ['', '合同已经签好', '明天讨论合同细节', 'nothing here'];

function oldMessage(n: number, content = CONTENTS[n]!) {
  return messageRow({
    corpid: 'wwold',
    msgid: `m${n}`,
    seq: BigInt(n),
    msgtime: 1_800_000_000_000 + n,
    raw: Buffer.from(JSON.stringify({ msgid: `m${n}`, action: 'send', from: 'a', tolist: ['b'], msgtype: 'text', text: { content } })),
  });
}
