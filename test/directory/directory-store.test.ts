import { expect, it } from 'vitest';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { describeEachDialect } from '../support/databases.ts';

describeEachDialect('directory store', ({ open }) => {
  it('does not let a member list fetched before an event undo the event', async () => {
    const store = await open();
    let clock = 1_000;
    const dir = new DirectoryStore(store.db, store.dialect, () => clock);
    await dir.replaceMembers('wwdir', [
      { userid: 'zhangsan', name: '张三' },
      { userid: 'lisi', name: '李四' },
      { userid: 'wangwu', name: '王五' },
    ]);

    // a full sync starts fetching at 2,000; meanwhile (2,500) update_user renames zhangsan and
    // create_user adds zhaoliu; the list, fetched before both, renames lisi and drops wangwu
    const fetchedFrom = 2_000;
    clock = 2_500;
    await dir.upsertMember('wwdir', { userid: 'zhangsan', name: '张三丰' }, 'event');
    await dir.upsertMember('wwdir', { userid: 'zhaoliu', name: '赵六' }, 'event');
    clock = 3_000;
    const r = await dir.replaceMembers(
      'wwdir',
      [
        { userid: 'zhangsan', name: '张三' },
        { userid: 'lisi', name: '李四四' },
      ],
      fetchedFrom,
    );

    const rows = await store.db.selectFrom('dir_members').select(['userid', 'name', 'deleted_at']).where('corpid', '=', 'wwdir').orderBy('userid').execute();
    expect(rows.map((m) => [m.userid, m.name, m.deleted_at === null ? 'kept' : 'deleted'])).toEqual([
      ['lisi', '李四四', 'kept'],
      ['wangwu', '王五', 'deleted'],
      ['zhangsan', '张三丰', 'kept'],
      ['zhaoliu', '赵六', 'kept'],
    ]);
    expect(r).toEqual({ added: 0, changed: 1, deleted: 1 });
    const history = await store.db.selectFrom('dir_name_history').select(['entity_id', 'old_value', 'new_value', 'source']).where('corpid', '=', 'wwdir').orderBy('id').execute();
    expect(history.map((h) => [h.entity_id, h.old_value, h.new_value, h.source])).toEqual([
      ['zhangsan', '张三', '张三丰', 'event'],
      ['lisi', '李四', '李四四', 'sync'],
    ]);

    // the next sync, fetched after the event, brings the list's own word again
    clock = 4_000;
    await dir.replaceMembers('wwdir', [{ userid: 'zhangsan', name: '张三' }], 4_000);
    const zhangsan = await store.db.selectFrom('dir_members').select('name').where('corpid', '=', 'wwdir').where('userid', '=', 'zhangsan').executeTakeFirstOrThrow();
    expect(zhangsan.name).toBe('张三');
  });
});
