import { describe, expect, it } from 'vitest';
import { matchesQuery } from './match.ts';
import { planIndexQuery } from './index-plan.ts';
import { parseSearchQuery } from './query.ts';
import { bigramTokens, indexTokens } from './tokenize.ts';

const matches = (fields: string[], query: string): boolean => matchesQuery(fields, parseSearchQuery(query));

describe('matchesQuery', () => {
  it('finds a CJK term of any length as a substring of one normalized field', () => {
    const fields = ['明天上午十点开会，请准时参加'];
    for (const q of ['会', '开会', '十点开会', '明天上午十点开会']) expect(matches(fields, q)).toBe(true);
    for (const q of ['会议', '开会请', '点 开会x']) expect(matches(fields, q)).toBe(false);
  });

  it('does not find CJK written apart, unless the query writes it apart too', () => {
    expect(matches(['中 文'], '中文')).toBe(false);
    expect(matches(['中 文'], '"中 文"')).toBe(true);
    expect(matches(['中文'], '"中 文"')).toBe(true);
    expect(matches(['中文'], '中，文')).toBe(true);
  });

  it('matches Latin words whole and case-insensitively, full-width included', () => {
    expect(matches(['Invoice #2024-117 attached'], 'INVOICE')).toBe(true);
    expect(matches(['Invoice #2024-117 attached'], 'invoic')).toBe(false);
    expect(matches(['ＡＢＣ１２３'], 'abc123')).toBe(true);
    expect(matches(['abc123'], 'abc')).toBe(false);
  });

  it('matches word* as a prefix of a word, not inside one', () => {
    expect(matches(['deployment done'], 'deploy*')).toBe(true);
    expect(matches(['redeploy done'], 'deploy*')).toBe(false);
  });

  it('matches a phrase as consecutive units, whatever separators stand between words', () => {
    expect(matches(['please review the PR'], '"review the pr"')).toBe(true);
    expect(matches(['review, the PR'], '"review the pr"')).toBe(true);
    expect(matches(['the PR review'], '"review the pr"')).toBe(false);
    expect(matches(['build 中文 ok'], '"build 中文"')).toBe(true);
    expect(matches(['这个 bug 在测试环境复现不了'], '"这个 bug 在测试"')).toBe(true);
    expect(matches(['这个 bug 在测试环境复现不了'], '"个 bug 在"')).toBe(true);
  });

  it('matches a mixed term like 中文abc with the word whole', () => {
    expect(matches(['学中文abc'], '中文abc')).toBe(true);
    expect(matches(['学中文 abc'], '中文abc')).toBe(true);
    expect(matches(['学中文abcd'], '中文abc')).toBe(false);
    expect(matches(['学中文abcd'], '中文abc*')).toBe(true);
  });

  it('never matches a term across two fields, but lets terms match in different fields', () => {
    expect(matches(['报价', '单'], '报价单')).toBe(false);
    expect(matches(['release', 'notes'], '"release notes"')).toBe(false);
    expect(matches(['报价', '单'], '报价 单')).toBe(true);
  });

  it('excludes messages that contain an excluded term anywhere', () => {
    expect(matches(['合同草案v3.pdf', '报价'], '报价 -草案')).toBe(false);
    expect(matches(['合同终稿.pdf', '报价'], '报价 -草案')).toBe(true);
    expect(matches(['draft v3'], 'v3 -"final draft"')).toBe(true);
  });

  it('applies an extra character fold (traditional to simplified, say) to the query and the fields alike', () => {
    const fold = (ch: string): string => ({ 發: '发', 價: '价' })[ch] ?? ch;
    const query = parseSearchQuery('發票 报价', {}, { fold });
    expect(matchesQuery(['发票已开', '報價'], query)).toBe(false);
    expect(matchesQuery(['發票已开', '报價单'], query)).toBe(true);
    expect(planIndexQuery(query).required[0]!.chains[0]!.tokens).toEqual(bigramTokens([{ text: '发' }, { text: '票' }]));
    expect(indexTokens(['發票'], fold)).toEqual(indexTokens(['发票']));
    expect(matchesQuery(['发票'], parseSearchQuery('發票'))).toBe(false);
  });

  it('has no match in a message without fields', () => {
    expect(matches([], 'abc')).toBe(false);
  });
});
