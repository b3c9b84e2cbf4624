import { expect, it } from 'vitest';
import { groupBy } from './group-by.ts';

it('groups items by their key, keys in first-seen order and items in their order', () => {
  const rows = [
    { corpid: 'b', msgid: '1' },
    { corpid: 'a', msgid: '2' },
    { corpid: 'b', msgid: '3' },
  ];
  expect([...groupBy(rows, (r) => r.corpid)].map(([k, v]) => [k, v.map((r) => r.msgid)])).toEqual([
    ['b', ['1', '3']],
    ['a', ['2']],
  ]);
  expect(groupBy([], (r: { corpid: string }) => r.corpid).size).toBe(0);
});
