/** The decrypt commit's summary rows: a message counts once however often its batch is committed, and late (older) messages move only the start. */
import { expect, it } from 'vitest';
import { EnvelopeRepository } from '../../src/decrypt/envelope-repository.ts';
import type { NewMessage } from '../../src/store/schema.ts';
import { describeEachDialect } from '../support/databases.ts';
import { A, rowOf, T0 } from './reading-fixture.ts';

const message = (msgid: string, seq: number, msgtime: number, from = 'alice', to = 'bob') =>
  rowOf({ corpid: A, msgid, json: { msgid, action: 'send', from, tolist: [to], roomid: '', msgtime, msgtype: 'text', text: { content: msgid } } }, BigInt(seq));

describeEachDialect('conversation summary', ({ open }) => {
  it('counts each message once across replays, mixed batches and repeats within a batch', async () => {
    const store = await open();
    const repo = new EnvelopeRepository(store.db);
    const commit = (messages: NewMessage[]) => repo.commitDecrypted(store.dialect, A, { lane: 'retry', messages, waits: [], lastSeq: '', newestMsgtime: null }, 1);
    const summary = async () => {
      const row = await store.db.selectFrom('conversations').selectAll().where('corpid', '=', A).where('conversation_key', '=', 'pair:alice|bob').executeTakeFirstOrThrow();
      return [Number(row.message_count), Number(row.first_msgtime), row.last_msgid];
    };
    const [m1, m2, m3, m4] = [message('m1', 10, T0), message('m2', 11, T0 + 1000, 'bob', 'alice'), message('m3', 12, T0 + 2000), message('m4', 13, T0 + 3000)];
    await commit([m1!, m2!]);
    expect(await summary()).toEqual([2, T0, 'm2']);
    await commit([m1!, m2!, m3!]);
    expect(await summary()).toEqual([3, T0, 'm3']);
    await commit([m4!, m4!, m3!]);
    expect(await summary()).toEqual([4, T0, 'm4']);
    // the same msgtime as the last: the higher seq is the newer
    await commit([message('m5', 14, T0 + 3000, 'bob', 'alice')]);
    expect(await summary()).toEqual([5, T0, 'm5']);
    await commit([message('m3b', 9, T0 + 3000)]);
    expect(await summary()).toEqual([6, T0, 'm5']);
    // a message that waited for its key arrives late: it is the first, not the last
    await commit([message('m0', 5, T0 - 5000)]);
    expect(await summary()).toEqual([7, T0 - 5000, 'm5']);
    const participants = await store.db.selectFrom('conversation_participants').select('userid').orderBy('userid').execute();
    expect(participants.map((p) => p.userid)).toEqual(['alice', 'bob']);
  });
});
