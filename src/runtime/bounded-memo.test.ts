import { describe, expect, it } from 'vitest';
import { BoundedMemo } from './bounded-memo.ts';

describe('BoundedMemo', () => {
  it('makes a value once per key, and forgets them all when full', () => {
    const made: number[] = [];
    const memo = new BoundedMemo<number, string>(2);
    const make = (n: number): string => {
      made.push(n);
      return `v${n}`;
    };
    expect([memo.get(1, make), memo.get(2, make), memo.get(1, make)]).toEqual(['v1', 'v2', 'v1']);
    expect(made).toEqual([1, 2]);
    // a third key finds it full: all are forgotten, so 1 is made again
    expect([memo.get(3, make), memo.get(1, make)]).toEqual(['v3', 'v1']);
    expect(made).toEqual([1, 2, 3, 1]);
  });
});
