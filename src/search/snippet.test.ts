import { describe, expect, it } from 'vitest';
import { parseSearchQuery } from './query.ts';
import { snippetFor, SNIPPET_LENGTH } from './snippet.ts';

const snippet = (fields: string[], query: string, length?: number) => snippetFor(fields, parseSearchQuery(query), length);
const marked = (s: { text: string; ranges: ReadonlyArray<readonly [number, number]> }): string[] => s.ranges.map(([a, b]) => s.text.slice(a, b));

describe('snippetFor', () => {
  it('marks every match of every included term in the field where most terms match', () => {
    const s = snippet(['报价', '客户那边反馈说价格有点高，报价单明天发'], '报价 价格 -草案')!;
    expect(s.field).toBe(1);
    expect(s.text).toBe('客户那边反馈说价格有点高，报价单明天发');
    expect(marked(s)).toEqual(['价格', '报价']);
  });

  it('marks the original characters of a normalized match and merges overlaps', () => {
    const s = snippet(['Ｈｅｌｌｏ Ｗｏｒｌｄ 中文文'], '"hello world" 中文 文文')!;
    expect(marked(s)).toEqual(['Ｈｅｌｌｏ Ｗｏｒｌｄ', '中文文']);
  });

  it('cuts a long field around the first match, with ellipses and shifted offsets', () => {
    const field = `${'前'.repeat(300)}目标词${'后'.repeat(300)}`;
    const s = snippet([field], '目标词')!;
    expect(s.text.startsWith('…')).toBe(true);
    expect(s.text.endsWith('…')).toBe(true);
    expect(s.text.length).toBe(SNIPPET_LENGTH + 2);
    expect(marked(s)).toEqual(['目标词']);
  });

  it('shows line breaks as spaces and never splits a surrogate pair', () => {
    const s = snippet(['第一行\n𠀀𠀀目标'], '目标', 4)!;
    expect(s.text).not.toMatch(/\n/);
    expect(s.text).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    expect(marked(s)).toEqual(['目标']);
  });

  it('has no snippet when no field matches', () => {
    expect(snippet(['abc'], 'xyz')).toBeUndefined();
  });
});
