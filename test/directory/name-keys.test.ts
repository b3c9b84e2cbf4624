/** The name keys of members, customers and groups: written with every name, and filled by migration 0011 for rows written before. */
import { expect, it } from 'vitest';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import type { ApiGroup } from '../../src/wecom-api/wecom-endpoints.ts';
import { migrateStore, openStore } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { openStoreMigratedTo } from '../support/older-schema.ts';

const CORP = 'wwkeys';
const group = (roomid: string, name: string | null): ApiGroup => ({ roomid, kind: 'customer', name, owner: null, notice: null, createTime: null, members: [] });
const contact = (externalUserId: string, name: string | null) => ({ externalUserId, name, type: 1, corpName: null, corpFullName: null, position: null, followUsers: [] });

describeEachDialect('directory name keys', ({ open, url }) => {
  it('writes the keys with every name, and a rename changes them', async () => {
    const store = await open();
    let clock = 1_000;
    const dir = new DirectoryStore(store.db, store.dialect, () => clock);
    const member = async (userid: string) =>
      store.db.selectFrom('dir_members').select(['name', 'name_pinyin', 'name_initials']).where('corpid', '=', CORP).where('userid', '=', userid).executeTakeFirstOrThrow();

    await dir.replaceMembers(CORP, [
      { userid: 'zhangsan', name: '张三' },
      { userid: 'js', name: 'John Smith' },
    ]);
    expect(await member('zhangsan')).toEqual({ name: '张三', name_pinyin: 'zhangsan', name_initials: 'zs' });
    expect(await member('js')).toEqual({ name: 'John Smith', name_pinyin: 'johnsmith', name_initials: 'js' });

    clock = 2_000;
    await dir.upsertMember(CORP, { userid: 'zhangsan', name: '曾小明' }, 'event');
    expect(await member('zhangsan')).toEqual({ name: '曾小明', name_pinyin: 'zengxiaoming cengxiaoming', name_initials: 'zxm cxm' });
    // a sync's list renames too (the batched path)
    clock = 3_000;
    await dir.replaceMembers(CORP, [{ userid: 'zhangsan', name: '李四' }], 3_000);
    expect(await member('zhangsan')).toMatchObject({ name: '李四', name_pinyin: 'lisi', name_initials: 'ls' });
    // an update that does not carry the name leaves name and keys alone
    await dir.upsertMember(CORP, { userid: 'zhangsan', position: '经理' }, 'event');
    expect(await member('zhangsan')).toMatchObject({ name: '李四', name_pinyin: 'lisi' });
    // NewUserID: the new id has the member's name and keys
    await dir.renameUserId(CORP, 'zhangsan', 'lisi', 'event');
    expect(await member('lisi')).toMatchObject({ name: '李四', name_pinyin: 'lisi', name_initials: 'ls' });
    // an id known only by id: no name, no keys
    await dir.deleteMember(CORP, 'ghost');
    expect(await member('ghost')).toEqual({ name: null, name_pinyin: null, name_initials: null });

    const external = async (id: string) =>
      store.db
        .selectFrom('dir_external_contacts')
        .select(['name', 'name_pinyin', 'name_initials'])
        .where('corpid', '=', CORP)
        .where('external_userid', '=', id)
        .executeTakeFirstOrThrow();
    await dir.learnExternalName(CORP, 'wmAAAAAAAAAAAAAAAAAA', '王五');
    expect(await external('wmAAAAAAAAAAAAAAAAAA')).toEqual({ name: '王五', name_pinyin: 'wangwu', name_initials: 'ww' });
    await dir.upsertExternal(CORP, contact('wmAAAAAAAAAAAAAAAAAA', 'Alice王'), 'sync');
    expect(await external('wmAAAAAAAAAAAAAAAAAA')).toEqual({ name: 'Alice王', name_pinyin: 'alicewang', name_initials: 'aw' });

    const room = async (roomid: string) =>
      store.db.selectFrom('dir_groups').select(['name', 'name_pinyin', 'name_initials']).where('corpid', '=', CORP).where('roomid', '=', roomid).executeTakeFirstOrThrow();
    await dir.upsertGroup(CORP, group('wrROOM', '项目组'), 'sync');
    expect(await room('wrROOM')).toEqual({ name: '项目组', name_pinyin: 'xiangmuzu', name_initials: 'xmz' });
    await dir.upsertGroup(CORP, group('wrROOM', 'Ops 值班'), 'event');
    expect(await room('wrROOM')).toEqual({ name: 'Ops 值班', name_pinyin: 'opszhiban', name_initials: 'ozb' });
    await dir.markGroup(CORP, 'wrGONE', 'undescribable', null, null);
    expect(await room('wrGONE')).toEqual({ name: null, name_pinyin: null, name_initials: null });
  });

  it('migration 0011 fills the keys of every named row written before it, past its first page', async () => {
    const location = await url();
    const { store: early, db } = await openStoreMigratedTo(location, '0010-search-index');
    const members = Array.from({ length: 1_003 }, (_, i) => ({ corpid: CORP, userid: `u${String(i).padStart(4, '0')}`, name: i % 2 ? '张三' : 'Bob Lee', updated_at: 1 }));
    members.push({ corpid: CORP, userid: 'nameless', name: null as unknown as string, updated_at: 1 });
    for (let i = 0; i < members.length; i += 200)
      await db
        .insertInto('dir_members')
        .values(members.slice(i, i + 200))
        .execute();
    await db.insertInto('dir_external_contacts').values({ corpid: CORP, external_userid: 'wmBBBBBBBBBBBBBBBBBB', name: '曾经', status: 'ok', updated_at: 1 }).execute();
    await db.insertInto('dir_groups').values({ corpid: CORP, roomid: 'wrOLD', kind: 'internal', name: '周报', status: 'ok', updated_at: 1 }).execute();
    await early.close();

    const store = await openStore(location, { migrate: false });
    try {
      expect(await migrateStore(store)).toContain('0011-directory-name-keys');
      const keyed = await store.db.selectFrom('dir_members').select(['userid', 'name_pinyin', 'name_initials']).where('corpid', '=', CORP).orderBy('userid').execute();
      expect(keyed).toHaveLength(1_004);
      expect(keyed.find((r) => r.userid === 'nameless')).toEqual({ userid: 'nameless', name_pinyin: null, name_initials: null });
      expect(
        keyed
          .filter((r) => r.userid !== 'nameless')
          .every((r, i) => (i % 2 ? r.name_pinyin === 'zhangsan' && r.name_initials === 'zs' : r.name_pinyin === 'boblee' && r.name_initials === 'bl')),
      ).toBe(true);
      expect(keyed.at(-1)).toMatchObject({ userid: 'u1002', name_pinyin: 'boblee' });
      expect(
        await store.db.selectFrom('dir_external_contacts').select(['name_pinyin', 'name_initials']).where('external_userid', '=', 'wmBBBBBBBBBBBBBBBBBB').executeTakeFirstOrThrow(),
      ).toEqual({ name_pinyin: 'zengjing cengjing', name_initials: 'zj cj' });
      expect(await store.db.selectFrom('dir_groups').select(['name_pinyin', 'name_initials']).where('roomid', '=', 'wrOLD').executeTakeFirstOrThrow()).toEqual({
        name_pinyin: 'zhoubao',
        name_initials: 'zb',
      });
    } finally {
      await store.close();
    }
  });
});
