import { describe, expect, it } from 'vitest';
import { planIndexQuery, tokenSetAdmits, tokenStreamAdmits } from './index-plan.ts';
import { parseSearchQuery } from './query.ts';
import { decodeToken, encodeToken } from './token-codec.ts';
import { indexTokens } from './tokenize.ts';

const plan = (query: string) => planIndexQuery(parseSearchQuery(query));
const readable = (query: string) =>
  plan(query).required.map((t) => ({ exact: t.exact, chains: t.chains.map((c) => c.tokens.map((tok) => decodeToken(tok)!.text).join(' ') + (c.prefix ? '*' : '')) }));

describe('planIndexQuery', () => {
  it('asks for the bigram chain of CJK written together, the unigram of a single character, and word chains', () => {
    expect(readable('发票抬头 单 "review the pr" 中文abc dep*')).toEqual([
      { exact: false, chains: ['发票 票抬 抬头'] },
      { exact: true, chains: ['单'] },
      { exact: false, chains: ['review the pr'] },
      { exact: false, chains: ['中文', 'abc'] },
      { exact: true, chains: ['dep*'] },
    ]);
    expect(readable('"中 文"')).toEqual([{ exact: false, chains: ['中', '文'] }]);
  });

  it('marks as exact only terms that one whole token decides', () => {
    const { excluded } = plan('x -草案 -草 -草案书 -abc -"a b" -' + 'w'.repeat(81));
    expect(excluded.map((t) => t.exact)).toEqual([true, true, false, true, false, false]);
  });
});

describe('what an index returns for a plan', () => {
  it('drops messages without a required token or with an exactly excluded one', () => {
    const tokens = new Set(indexTokens(['报价单已发', 'deploy done']));
    expect(tokenSetAdmits(tokens, plan('报价 deploy*'))).toBe(true);
    expect(tokenSetAdmits(tokens, plan('报价 -deploy'))).toBe(false);
    expect(tokenSetAdmits(tokens, plan('报价 -deplo'))).toBe(true);
    expect(tokenSetAdmits(tokens, plan('合同'))).toBe(false);
  });

  it('with positions, keeps a phrase from spanning two fields or a CJK run from jumping a gap', () => {
    const stream = indexTokens(['release', 'notes 中文 字']);
    expect(tokenSetAdmits(new Set(stream), plan('"release notes"'))).toBe(true);
    expect(tokenStreamAdmits(stream, plan('"release notes"'))).toBe(false);
    expect(tokenStreamAdmits(stream, plan('"notes 中文"'))).toBe(true);
    expect(tokenStreamAdmits(indexTokens(['前中文字后']), plan('中文字'))).toBe(true);
    expect(tokenStreamAdmits(indexTokens(['中文，文字']), plan('中文字'))).toBe(false);
    expect(tokenSetAdmits(new Set(indexTokens(['中文，文字'])), plan('中文字'))).toBe(true);
  });

  it('finds long words through their cut tokens', () => {
    const word = `x${'y'.repeat(120)}`;
    const stream = indexTokens([`see ${word}`]);
    expect(stream).toContain(encodeToken('word', word));
    expect(tokenSetAdmits(new Set(stream), plan(word))).toBe(true);
    expect(tokenSetAdmits(new Set(stream), plan(`${'x'}${'y'.repeat(100)}*`))).toBe(true);
  });
});
