/**
 * The conversations of a department grant are read through the participants' index by user alone:
 * SQLite keeps no statistics, and with an index of (corpid, userid) only, it read every participant
 * of the corp through the table's key instead (migration 0025).
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import type { ReadScope } from '../../src/access/read-scope.ts';
import { conversationScope } from '../../src/access/scope-sql.ts';
import { openStore } from '../../src/store/open-store.ts';
import { createTestDatabase } from '../support/databases.ts';

it('reads a department grant’s conversations from the participants’ index by user, on SQLite without statistics', async () => {
  const database = await createTestDatabase('sqlite');
  const store = await openStore(database.url);
  try {
    const corpid = 'wwscope';
    await store.db
      .insertInto('dir_departments')
      .values({ corpid, dept_id: 7, name: 'Sales', name_en: null, parent_id: null, sort_order: 0, deleted_at: null, synced_at: null, updated_at: 0 })
      .execute();
    await store.db
      .insertInto('dir_members')
      .values(['u1', 'u2'].map((userid) => ({ ...MEMBER, corpid, userid, departments: '[7]' })))
      .execute();
    const scope: ReadScope = { kind: 'limited', corps: [], departments: [{ corpid, departmentId: 7 }], conversations: [] };
    const inScope = await conversationScope(store.db, scope, corpid);
    const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN SELECT c.conversation_key FROM conversations c WHERE c.corpid = ${corpid} AND ${inScope}`.execute(store.db);
    const details = plan.rows.map((r) => r.detail);
    expect(details).toContainEqual('SEARCH p USING COVERING INDEX conversation_participants_user_idx (corpid=? AND userid=?)');
  } finally {
    await store.close();
    await database.drop();
  }
});

/** A member row's other columns. */
const MEMBER = {
  name: null,
  name_pinyin: null,
  name_initials: null,
  alias: null,
  position: null,
  main_department: 7,
  status: 1,
  renamed_to: null,
  deleted_at: null,
  synced_at: null,
  updated_at: 0,
};
