/** Migration 0013 on an archive that already holds messages: the conversation summary and participants are filled from them. */
import { expect, it } from 'vitest';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import { listConversations } from '../../src/reading/conversation-list.ts';
import { migrateStore, openStore } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { openStoreMigratedTo } from '../support/older-schema.ts';
import { A, CUSTOMER, handwritten, ROOM, rowOf } from './reading-fixture.ts';
import { model } from './reading-model.ts';

describeEachDialect('conversation summary migration', ({ url }) => {
  it('summarizes every conversation archived before the summary existed, as the decrypt commit would have', async () => {
    const location = await url();
    const { store: early, db } = await openStoreMigratedTo(location, '0010-search-index');
    const rows = handwritten().map((m, i) => rowOf(m, BigInt(100 + i)));
    await db.insertInto('messages').values(rows).execute();
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toContain('0013-conversations');
      const summary = await store.db.selectFrom('conversations').selectAll().execute();
      const expected = model(rows);
      expect(summary.length).toBe(expected.length);
      for (const c of expected) {
        const row = summary.find((s) => s.corpid === c.corpid && s.conversation_key === c.key)!;
        const last = c.messages[c.messages.length - 1]!;
        expect([Number(row.message_count), Number(row.first_msgtime), Number(row.last_msgtime), row.last_msgid, row.roomid]).toEqual([
          c.messages.length,
          Number(c.messages[0]!.msgtime),
          Number(last.msgtime),
          last.msgid,
          c.roomid,
        ]);
      }
      const kinds = Object.fromEntries(summary.filter((s) => s.corpid === A).map((s) => [s.conversation_key, s.kind]));
      expect([kinds['pair:alice|bob'], kinds[`pair:alice|${CUSTOMER}`], kinds[`room:${ROOM}`]]).toEqual(['single', 'external', 'group']);
      const participants = await store.db.selectFrom('conversation_participants').selectAll().execute();
      expect(participants.map((p) => `${p.corpid} ${p.conversation_key} ${p.userid}`).sort()).toEqual(
        expected.flatMap((c) => [...c.participants].map((p) => `${c.corpid} ${c.key} ${p}`)).sort(),
      );
      const page = await listConversations(store.db, store.dialect, EVERYTHING, A, { member: 'dave' });
      expect(page.conversations.map((c) => c.conversation).sort()).toEqual(['pair:bob|dave', `room:${ROOM}`]);
    } finally {
      await store.close();
    }
  });
});
