/**
 * The index stage's edge cases on every dialect: a rebuild queuing messages while the decrypt stage
 * queues the same ones, messages that hold no searchable text or no JSON at all, and a message whose
 * distinct tokens exceed what one full-text entry may hold.
 */
import { expect, it } from 'vitest';
import { indexDocs, messageTokens } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import { parseSearchQuery } from '../../src/search/query.ts';
import { queueForIndex } from '../../src/search/search-pending.ts';
import { countMatches, searchMessages } from '../../src/search/search-messages.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';

const CORP = 'wwedge';

function textMessage(msgid: string, content: string): Buffer {
  return Buffer.from(JSON.stringify({ msgid, action: 'send', from: 'a', tolist: ['b'], msgtime: 1, msgtype: 'text', text: { content } }));
}

async function insertMessages(store: Store, raws: ReadonlyArray<readonly [msgid: string, raw: Buffer]>, msgtype = 'text'): Promise<void> {
  await store.db
    .insertInto('messages')
    .values(raws.map(([msgid, raw], i) => messageRow({ corpid: CORP, msgid, seq: BigInt(i + 1), msgtime: 1_800_000_000_000 + i, msgtype, raw })))
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

async function found(store: Store, text: string): Promise<string[]> {
  const query = parseSearchQuery(text, { corpid: CORP });
  const page = await searchMessages(store.db, store.dialect, query, { limit: 1000 });
  expect(page.next).toBeUndefined();
  expect(await countMatches(store.db, store.dialect, query)).toEqual({ count: page.hits.length, atLeast: false });
  return page.hits.map((h) => h.msgid).sort();
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
      await queueForIndex(trx, store.dialect, CORP, ['m2'], 1);
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
});
