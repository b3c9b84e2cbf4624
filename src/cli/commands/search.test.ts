import { describe, expect, it } from 'vitest';
import { pageSummary } from './search.ts';

describe('pageSummary', () => {
  it('groups the total by thousands for a person, says "at least" for a capped count, and names the next page', () => {
    expect(pageSummary(50, { count: 10_000, atLeast: true }, 'CUR')).toBe('50 messages of at least 10,000 in all; next page: --after CUR');
    expect(pageSummary(3, { count: 1_234_567, atLeast: false }, undefined)).toBe('3 messages of 1,234,567 in all');
    expect(pageSummary(1, { count: 1, atLeast: false }, undefined)).toBe('1 message of 1 in all');
  });

  it('gives no total for an empty page or a page counted apart', () => {
    expect(pageSummary(0, { count: 0, atLeast: false }, undefined)).toBe('0 messages');
    expect(pageSummary(2, undefined, 'CUR')).toBe('2 messages; next page: --after CUR');
  });
});
