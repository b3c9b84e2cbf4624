import { describe, expect, it } from 'vitest';
import { ArchiveError, ValidationError } from '../errors/errors.ts';
import { parseSearchQuery, QUERY_LIMITS, validateSearchFilters } from './query.ts';

/** Each term as [exclude ? '-' : '', units joined by space, '*' marking a prefix unit]. */
function terms(query: string): string[] {
  return parseSearchQuery(query).terms.map((t) => (t.exclude ? '-' : '') + t.units.map((u) => u.text + (u.prefix ? '*' : '')).join(' '));
}

function refusal(query: string, filters: unknown = {}): ValidationError {
  try {
    parseSearchQuery(query, filters);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`query ${JSON.stringify(query)} was accepted`);
}

describe('parseSearchQuery', () => {
  it('ANDs terms separated by spaces, full-width spaces included', () => {
    expect(terms('发票  抬头\u3000Invoice')).toEqual(['发 票', '抬 头', 'invoice']);
  });

  it('keeps a quoted phrase together and excludes -term and -"phrase"', () => {
    expect(terms('"release notes" -draft -"合同 草案" 报价')).toEqual(['release notes', '-draft', '-合 同 草 案', '报 价']);
  });

  it('marks CJK written together as joined and separated CJK as not', () => {
    const [together, apart] = parseSearchQuery('中文 "中 文"').terms;
    expect(together!.units.map((u) => u.joined)).toEqual([false, true]);
    expect(apart!.units.map((u) => u.joined)).toEqual([false, false]);
  });

  it('reads word* as a prefix of the last word only', () => {
    expect(terms('deploy* 中文abc* ver*sion')).toEqual(['deploy*', '中 文 abc*', 'ver sion']);
    expect(terms('中文* abc!* "abc*"')).toEqual(['中 文', 'abc', 'abc']);
  });

  it('takes every other operator-looking character as text (a separator)', () => {
    expect(terms("a NEAR b OR c's 100% x_y (z) \\w")).toEqual(['a', 'near', 'b', 'or', 'c s', '100', 'x y', 'z', 'w']);
    expect(terms('*abc a**')).toEqual(['abc', 'a']);
  });

  it('takes an unbalanced quote as text', () => {
    expect(terms('"abc def')).toEqual(['abc', 'def']);
    expect(terms('ab"cd')).toEqual(['ab cd']);
    expect(terms('x -"abc')).toEqual(['x', '-abc']);
  });

  it('folds full-width operators like their ASCII forms', () => {
    expect(terms('＂ａ ｂ＂ －ｃ ｄ＊')).toEqual(['a b', '-c', 'd*']);
  });

  it('refuses a query with nothing searchable, naming why', () => {
    for (const empty of ['', '   ', '"" - -- !!! 🎉', '*']) expect(refusal(empty).code).toBe('SEARCH_QUERY_EMPTY');
    expect(refusal('!!!').message).toMatch(/no letters, digits or CJK/);
  });

  it('refuses a query that only excludes', () => {
    expect(refusal('-abc -"中文"').code).toBe('SEARCH_QUERY_ONLY_EXCLUDES');
  });

  it('refuses oversized queries with a clear error, never a stack overflow', () => {
    expect(refusal('a'.repeat(QUERY_LIMITS.chars + 1)).code).toBe('SEARCH_QUERY_TOO_LONG');
    expect(refusal(Array.from({ length: QUERY_LIMITS.terms + 1 }, (_, i) => `w${i}`).join(' ')).code).toBe('SEARCH_QUERY_TOO_LONG');
    expect(refusal('中'.repeat(QUERY_LIMITS.unitsPerTerm + 1)).code).toBe('SEARCH_TERM_TOO_LONG');
    expect(refusal(42 as unknown as string).code).toBe('SEARCH_QUERY_INVALID');
  });
});

describe('search filters', () => {
  it('accepts the structured filters', () => {
    const filters = {
      corpid: 'ww1',
      conversationKey: 'room:wr1',
      fromIds: ['zhangsan', 'wmAAAAAAAAAAAAAAAAAA'],
      msgtypes: ['text', 'file'],
      since: 0,
      until: 1_700_000_000_000,
      external: true,
      hasMedia: false,
    };
    expect(parseSearchQuery('abc', filters).filters).toEqual(filters);
  });

  it('names every wrong filter at once', () => {
    const err = refusal('abc', { corpid: '', msgtypes: ['Text!'], since: -1, until: 1.5, external: 'yes', fromIds: [], colour: 'red' });
    expect(err.code).toBe('SEARCH_FILTERS_INVALID');
    for (const name of ['corpid', 'msgtypes', 'since', 'until', 'external', 'fromIds must be a list of 1 to 200 ids', 'colour is not a filter'])
      expect(err.message).toContain(name);
  });

  it('refuses an empty time range and a filter object that is not one', () => {
    expect(refusal('abc', { since: 10, until: 10 }).message).toContain('since must be before until');
    expect(() => validateSearchFilters(null)).toThrow(ArchiveError);
    expect(() => validateSearchFilters(['x'])).toThrow(/must be an object/);
  });
});
