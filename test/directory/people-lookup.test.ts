/** peopleMatching: members, customers and groups by id, name, pinyin or initials, best first, by keyset pages, within the caller's scope. */
import { beforeAll, expect, it } from 'vitest';
import { EVERYTHING, NOTHING, type ReadScope } from '../../src/access/read-scope.ts';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { peopleMatching, type PersonMatch, SENDER_LIMIT, senderIdsFor } from '../../src/directory/people-lookup.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';

const CORP = 'wwpeople';
const OTHER = 'wwother';

const limited = (corps: string[], conversations: Array<{ corpid: string; conversation: string }> = []): ReadScope => ({ kind: 'limited', corps, departments: [], conversations });
const brief = (people: readonly PersonMatch[]) => people.map((p) => `${p.kind}:${p.id}:${p.match}`);

describeEachDialect('people lookup', ({ open }) => {
  let store: Store;

  beforeAll(async () => {
    store = await open();
    const dir = new DirectoryStore(store.db, store.dialect);
    await dir.replaceMembers(CORP, [
      { userid: 'zs', name: '周顺' },
      { userid: 'u1', name: '张三' },
      { userid: 'u2', name: '赵四' },
      { userid: 'u3', name: '张三丰' },
      { userid: 'u4', name: '小张三' },
      { userid: 'u5', name: '100%_done' },
      { userid: 'u6', name: '曾小明' },
    ]);
    await dir.replaceMembers(OTHER, [{ userid: 'o1', name: '张三' }]);
    const contact = (externalUserId: string, name: string) => ({ externalUserId, name, type: 1, corpName: null, corpFullName: null, position: null, followUsers: [] });
    await dir.upsertExternal(CORP, contact('wmZS00000000000000000', '张三'), 'sync');
    await dir.upsertGroup(CORP, { roomid: 'wrZS', kind: 'internal', name: '张三的项目组', owner: null, notice: null, createTime: null, members: [] }, 'sync');
  });

  it('orders by how well the text matches: id, exact name or keys, prefixes, then name parts; members, customers, groups', async () => {
    const { people, next } = await peopleMatching(store.db, EVERYTHING, CORP, 'zs');
    expect(brief(people)).toEqual([
      'member:zs:id',
      // exact initials
      'member:u1:initials',
      'member:u2:initials',
      'customer:wmZS00000000000000000:initials',
      // initials that start with zs: 张三丰 zsf, 张三的项目组 zsdxmz
      'member:u3:initials prefix',
      'group:wrZS:initials prefix',
    ]);
    expect(next).toBeUndefined();
    expect(people[1]).toEqual({ kind: 'member', id: 'u1', name: '张三', match: 'initials' });

    const byName = await peopleMatching(store.db, EVERYTHING, CORP, '张三');
    expect(brief(byName.people)).toEqual(['member:u1:name', 'customer:wmZS00000000000000000:name', 'member:u3:name prefix', 'group:wrZS:name prefix', 'member:u4:name part']);
    expect(brief((await peopleMatching(store.db, EVERYTHING, CORP, 'zhangsan')).people).slice(0, 2)).toEqual(['member:u1:pinyin', 'customer:wmZS00000000000000000:pinyin']);
  });

  it('pages by keyset without repeats or gaps, and keeps to the kinds asked for', async () => {
    const all = await peopleMatching(store.db, EVERYTHING, CORP, '张', { limit: 200 });
    expect(all.people.length).toBe(5);
    const paged: PersonMatch[] = [];
    let after: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await peopleMatching(store.db, EVERYTHING, CORP, '张', { limit: 2, ...(after ? { after } : {}) });
      expect(page.people.length).toBeLessThanOrEqual(2);
      paged.push(...page.people);
      if (!page.next) break;
      after = page.next;
    }
    expect(paged).toEqual(all.people);
    const groups = await peopleMatching(store.db, EVERYTHING, CORP, '张', { kinds: ['group'] });
    expect(brief(groups.people)).toEqual(['group:wrZS:name prefix']);
    const customers = await peopleMatching(store.db, EVERYTHING, CORP, 'zs', { kinds: ['customer'] });
    expect(brief(customers.people)).toEqual(['customer:wmZS00000000000000000:initials']);
  });

  it('finds a polyphonic name by each of its readings', async () => {
    for (const text of ['zengxiaoming', 'cengxiaoming', 'zxm', 'cxm'])
      expect(brief((await peopleMatching(store.db, EVERYTHING, CORP, text)).people), text).toEqual([`member:u6:${text.length > 3 ? 'pinyin' : 'initials'}`]);
    expect(brief((await peopleMatching(store.db, EVERYTHING, CORP, 'ceng')).people)).toEqual(['member:u6:pinyin prefix']);
  });

  it('takes % and _ in the text literally', async () => {
    expect(brief((await peopleMatching(store.db, EVERYTHING, CORP, '%_')).people)).toEqual(['member:u5:name part']);
    expect((await peopleMatching(store.db, EVERYTHING, CORP, '_')).people.map((p) => p.id)).toEqual(['u5']);
  });

  it('shows a corp’s directory only to a scope that covers the corp', async () => {
    expect((await peopleMatching(store.db, limited([CORP]), CORP, '张三')).people.length).toBe(5);
    expect((await peopleMatching(store.db, limited([OTHER]), CORP, '张三')).people).toEqual([]);
    expect((await peopleMatching(store.db, limited([], [{ corpid: CORP, conversation: 'room:wrZS' }]), CORP, '张三')).people).toEqual([]);
    expect((await peopleMatching(store.db, NOTHING, CORP, '张三')).people).toEqual([]);
    // another corp's people never show up in this corp's lookup
    expect((await peopleMatching(store.db, EVERYTHING, CORP, '张三')).people.some((p) => p.id === 'o1')).toBe(false);
  });

  it("refuses a sender filter that stands for too many people; a scope without the corp's conversations finds no one in it", async () => {
    const dir = new DirectoryStore(store.db, store.dialect);
    await dir.replaceMembers(
      'wwmany',
      Array.from({ length: SENDER_LIMIT + 1 }, (_, i) => ({ userid: `w${i}`, name: '王伟' })),
    );
    await expect(senderIdsFor(store.db, EVERYTHING, 'wwmany', 'wangwei')).rejects.toMatchObject({ code: 'SEARCH_FROM_AMBIGUOUS' });
    expect((await senderIdsFor(store.db, EVERYTHING, 'wwmany', 'w7')).ids).toEqual(['w7']);
    // the people of a corp whose conversations the scope does not hold are unknown to it, names and ids alike
    await expect(senderIdsFor(store.db, limited([CORP]), 'wwmany', 'wangwei')).rejects.toMatchObject({ code: 'SEARCH_FROM_UNKNOWN' });
    await expect(senderIdsFor(store.db, limited([CORP]), 'wwmany', 'w7')).rejects.toMatchObject({ code: 'SEARCH_FROM_UNKNOWN' });
  });

  it('refuses empty text, a bad page size and a cursor it did not give', async () => {
    await expect(peopleMatching(store.db, EVERYTHING, CORP, '  ')).rejects.toMatchObject({ code: 'PEOPLE_QUERY_INVALID' });
    await expect(peopleMatching(store.db, EVERYTHING, CORP, 'zs', { limit: 0 })).rejects.toMatchObject({ code: 'PEOPLE_LIMIT_INVALID' });
    await expect(peopleMatching(store.db, EVERYTHING, CORP, 'zs', { after: 'bm90IGEgY3Vyc29y' })).rejects.toMatchObject({ code: 'PEOPLE_CURSOR_INVALID' });
  });
});
