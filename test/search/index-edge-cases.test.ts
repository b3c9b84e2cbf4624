/**
 * The index stage's edge cases on every dialect: a rebuild queuing messages while the decrypt stage
 * queues the same ones, a queue row naming another time than its message's, messages that hold no
 * searchable text or no JSON at all, and a message whose distinct tokens exceed what one full-text
 * entry may hold.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import { indexDocs, messageTokens } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import { parseSearchQuery } from '../../src/search/query.ts';
import { queueForIndex } from '../../src/search/search-pending.ts';
import { countMatches, searchMessages } from '../../src/search/search-messages.ts';
import type { Store } from '../../src/store/open-store.ts';
import { matchesQuery } from '../../src/search/match.ts';
import { searchableTextOfRaw } from '../../src/search/searchable-text.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const CORP = 'wwedge';

function textMessage(msgid: string, content: string): Buffer {
  return Buffer.from(JSON.stringify({ msgid, action: 'send', from: 'a', tolist: ['b'], msgtime: 1, msgtype: 'text', text: { content } }));
}

async function insertMessages(store: Store, raws: ReadonlyArray<readonly [msgid: string, raw: Buffer]>, msgtype = 'text', corpid = CORP): Promise<void> {
  await store.db
    .insertInto('messages')
    .values(raws.map(([msgid, raw], i) => messageRow({ corpid, msgid, seq: BigInt(i + 1), msgtime: 1_800_000_000_000 + i, msgtype, raw })))
    .execute();
}

async function drain(store: Store): Promise<void> {
  const repository = new IndexRepository(store.db, store.dialect);
  while ((await repository.indexBatch(50, indexDocs)) > 0);
  expect(await repository.backlog()).toEqual([]);
}

async function indexedIds(store: Store): Promise<string[]> {
  const rows = await store.db.selectFrom('search_docs').select('msgid').where('corpid', '=', CORP).orderBy('msgid').execute();
  return rows.map((r) => r.msgid);
}

/** The corps SQLite lists as having index entries (search_corps). */
async function indexedCorps(store: Store): Promise<string[]> {
  const rows = await sql<{ corpid: string }>`SELECT corpid FROM search_corps ORDER BY corpid`.execute(store.db);
  return rows.rows.map((r) => r.corpid);
}

async function found(store: Store, text: string): Promise<string[]> {
  const query = parseSearchQuery(text, { corpid: CORP });
  const page = await searchMessages(store.db, store.dialect, EVERYTHING, query, { limit: 1000 });
  expect(page.next).toBeUndefined();
  expect(await countMatches(store.db, store.dialect, EVERYTHING, query)).toEqual({ count: page.hits.length, atLeast: false });
  return page.hits.map((h) => h.msgid).sort();
}

/** `n` random characters of the CJK block: almost every bigram of it is distinct. */
function randomHan(rng: ReturnType<typeof seededRng>, n: number): string {
  return Array.from({ length: n }, () => String.fromCodePoint(0x4e00 + rng.range(0, 6_000))).join('');
}

describeEachDialect('index stage edge cases', ({ open }) => {
  it('queues every message for a rebuild while the decrypt stage queues some of the same ones', async () => {
    const store = await open();
    await insertMessages(store, [
      ['m1', textMessage('m1', '合同')],
      ['m2', textMessage('m2', '发票')],
      ['m3', textMessage('m3', 'deploy')],
    ]);
    // the decrypt stage has queued m2 in its transaction and not committed yet
    let commit!: () => void;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let pending!: () => void;
    const inserted = new Promise<void>((resolve) => (pending = resolve));
    const decrypting = store.db.transaction().execute(async (trx) => {
      await queueForIndex(trx, store.dialect, CORP, [{ msgid: 'm2', msgtime: 1_800_000_000_001 }], 1);
      pending();
      await committing;
    });
    await inserted;
    const rebuilding = new IndexRepository(store.db, store.dialect).queueAll(CORP, 2);
    // the rebuild's INSERT reaches m2's row, locked by the decrypt transaction, and waits for it
    await new Promise((resolve) => setTimeout(resolve, 300));
    commit();
    const [, queued] = await Promise.all([decrypting, rebuilding]);
    expect(queued).toBe(3);
    await drain(store);
    expect(await indexedIds(store)).toEqual(['m1', 'm2', 'm3']);
  });

  it('indexes a message whose queue row names another time than the message’s, beside one whose row names its own', async () => {
    const store = await open();
    // stored at 1_800_000_000_000 and 1_800_000_000_001 (insertMessages)
    await insertMessages(store, [
      ['t1', textMessage('t1', '合同')],
      ['t2', textMessage('t2', '合同 发票')],
    ]);
    // t2's row says a time before t1's (the batch's range then ends before t2's own time)
    await store.db.transaction().execute(async (trx) => {
      await queueForIndex(trx, store.dialect, CORP, [{ msgid: 't1', msgtime: 1_800_000_000_000 }], 1);
      await queueForIndex(trx, store.dialect, CORP, [{ msgid: 't2', msgtime: 1_799_999_999_000 }], 1);
    });
    await drain(store);
    expect(await indexedIds(store)).toEqual(['t1', 't2']);
    expect(await found(store, '发票')).toEqual(['t2']);
  });

  it('indexes messages without JSON or without searchable text as nothing, and the queue goes on past them', async () => {
    const store = await open();
    const broken: Array<[string, Buffer]> = [
      ['b1', Buffer.from('{"msgid":"b1","msgtype":"text","text":{"content":"合同')],
      ['b2', Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22])],
      ['b3', Buffer.from('')],
      ['b4', Buffer.from('[1,2,3]')],
      ['b5', Buffer.from('{"msgtype":"image","image":{"md5sum":"x"}}')],
      ['b6', Buffer.from('{"msgtype":"text","text":{"content":42}}')],
      ['b7', Buffer.from('{"msgtype":"chatrecord","chatrecord":{"item":[{"type":"ChatRecordText","content":"{not json"}]}}')],
      ['b8', textMessage('b8', '  …！？🙂  ')],
    ];
    // the good messages sort after the broken ones, so they are indexed only if the queue goes past them
    await insertMessages(store, [...broken, ['g1', textMessage('g1', '合同 deploy')], ['g2', textMessage('g2', '发票')]]);
    for (const [, raw] of broken) expect(messageTokens(raw)).toEqual([]);
    const queued = await new IndexRepository(store.db, store.dialect).queueAll(CORP, 1);
    expect(queued).toBe(broken.length + 2);
    await drain(store);
    expect(await indexedIds(store)).toEqual(['g1', 'g2']);
    expect(await found(store, '合同')).toEqual(['g1']);
    expect(await found(store, 'deploy')).toEqual(['g1']);
  });

  it('counts one corp exactly while other corps’ entries come and go', async () => {
    const store = await open();
    const other = 'wwedge2';
    const count = async (corpid: string, text: string) => (await countMatches(store.db, store.dialect, EVERYTHING, parseSearchQuery(text, { corpid }))).count;
    const day = { since: 1_800_000_000_000, until: 1_800_000_000_000 + 86_400_000 };
    const countInDay = async (corpid: string) => (await countMatches(store.db, store.dialect, EVERYTHING, parseSearchQuery('合同', { corpid, ...day }))).count;
    await insertMessages(store, [
      ['a1', textMessage('a1', '合同 deploy')],
      ['a2', textMessage('a2', '合同')],
      ['a3', textMessage('a3', '发票')],
    ]);
    await insertMessages(
      store,
      [
        ['b1', textMessage('b1', '合同 deploy')],
        ['b2', textMessage('b2', '合同')],
      ],
      'text',
      other,
    );
    const repository = new IndexRepository(store.db, store.dialect);
    await repository.queueAll(CORP, 1);
    await drain(store);
    // the only corp with entries: SQLite counts from FTS5 alone (search_corps)
    expect([await count(CORP, '合同'), await count(CORP, 'deploy'), await countInDay(CORP), await count(other, '合同')]).toEqual([2, 1, 2, 0]);
    if (store.dialect.name === 'sqlite') expect(await indexedCorps(store)).toEqual([CORP]);

    await repository.queueAll(other, 2);
    await drain(store);
    expect([await count(CORP, '合同'), await count(CORP, 'deploy'), await countInDay(CORP), await count(other, '合同'), await count(other, 'deploy')]).toEqual([2, 1, 2, 2, 1]);
    if (store.dialect.name === 'sqlite') expect(await indexedCorps(store)).toEqual([CORP, other]);

    await store.db.transaction().execute((trx) => store.dialect.search.deleteDocs(trx, CORP));
    expect([await count(CORP, '合同'), await count(other, '合同'), await countInDay(other)]).toEqual([0, 2, 2]);
    if (store.dialect.name === 'sqlite') expect(await indexedCorps(store)).toEqual([other]);
  });

  it('indexes a message with more distinct tokens than one full-text value holds, and finds it exactly', async () => {
    const store = await open();
    const rng = seededRng(testSeed('SEARCH_EDGE_SEED', 'huge message'));
    // three chat record items of 26,000 random characters: ~78,000 distinct bigrams, more tokens
    // than a PostgreSQL tsvector may hold (1,048,575 bytes)
    const items = [randomHan(rng, 26_000), randomHan(rng, 26_000), randomHan(rng, 26_000)];
    const middle = items[1]!.slice(13_000, 13_003);
    const record = {
      msgid: 'huge',
      msgtype: 'chatrecord',
      chatrecord: { title: 'huge record', item: items.map((content) => ({ type: 'ChatRecordText', content: JSON.stringify({ content }) })) },
    };
    const huge = Buffer.from(JSON.stringify(record));
    expect(messageTokens(huge).join('').length).toBeGreaterThan(1_048_575);
    const head = items[0]!.slice(10, 12);
    const tail = items[2]!.slice(-4);
    await insertMessages(store, [
      ['huge', huge],
      ['small', textMessage('small', `${head} and ${middle}`)],
    ]);
    await new IndexRepository(store.db, store.dialect).queueAll(CORP, 1);
    await drain(store);
    expect(await indexedIds(store)).toEqual(['huge', 'small']);

    const fields = new Map([
      ['huge', searchableTextOfRaw(huge).map((f) => f.text)],
      ['small', [`${head} and ${middle}`]],
    ]);
    const scan = (text: string) => [...fields].filter(([, f]) => matchesQuery(f, parseSearchQuery(text, { corpid: CORP }))).map(([id]) => id);
    // terms whose tokens sit at the start, the middle and the end of the message's token list (the
    // last two characters: one token, which a count asks of the index alone, past the first part)
    const absent = [...'一二三四五六七八九十'].flatMap((a) => [...'甲乙丙丁戊己庚辛壬癸'].map((b) => a + b)).find((pair) => !items.some((item) => item.includes(pair)))!;
    const queries = [head, tail, tail.slice(2), middle, `${head} ${tail}`, `${head} -${tail}`, `${tail} ${absent}`, 'huge record'];
    for (const text of queries) expect(await found(store, text), text).toEqual(scan(text).sort());
    expect(await found(store, `${head} ${tail}`)).toEqual(['huge']);
    expect(await found(store, head)).toEqual(['huge', 'small']);

    // written again (a reindex), it is still one message, found once
    await new IndexRepository(store.db, store.dialect).queueAll(CORP, 2);
    await drain(store);
    expect(await indexedIds(store)).toEqual(['huge', 'small']);
    expect(await found(store, `${head} ${tail}`)).toEqual(['huge']);
  }, 60_000);
});
