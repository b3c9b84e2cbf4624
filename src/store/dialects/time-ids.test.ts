import { describe, expect, it } from 'vitest';
import { entrySecond, exactIdRange, firstIdOf, idRangeOf, nextIdOf, secondOfId, SLOTS_A_SECOND } from './time-ids.ts';

describe('index entry ids that follow time', () => {
  it('files a message under its second, the ends of the range holding what lies beyond them', () => {
    expect(entrySecond(1_767_225_600_999)).toBe(1_767_225_600);
    expect(entrySecond(-5)).toBe(0);
    expect(entrySecond(2 ** 40 * 1000)).toBe(2 ** 32 - 1);
    expect(entrySecond(Number.NaN)).toBe(0);
  });

  it('orders ids by second, each below 2^53 so a JavaScript number holds it exactly', () => {
    const last = nextIdOf(2 ** 32 - 1, firstIdOf(2 ** 32) - 2);
    expect(last).toBe(2 ** 53 - 1);
    expect(Number.isSafeInteger(last)).toBe(true);
    expect(secondOfId(last)).toBe(2 ** 32 - 1);
    const a = nextIdOf(100, undefined);
    const b = nextIdOf(100, a);
    expect([a, b, secondOfId(a), secondOfId(b)]).toEqual([firstIdOf(100), firstIdOf(100) + 1, 100, 100]);
    expect(nextIdOf(99, firstIdOf(100) - 2)).toBeLessThan(a);
  });

  it('refuses a slot past the last of a second instead of filing it under the next', () => {
    expect(() => nextIdOf(7, firstIdOf(7) + SLOTS_A_SECOND - 1)).toThrow(/holds 2097152 messages of the second 7/);
  });

  it('gives the ids of a time range, whole seconds at its edges', () => {
    expect(idRangeOf(undefined, undefined)).toEqual({});
    expect(idRangeOf(10_500, 12_000)).toEqual({ atLeast: firstIdOf(10), below: firstIdOf(12) });
    expect(idRangeOf(10_000, 12_001)).toEqual({ atLeast: firstIdOf(10), below: firstIdOf(13) });
  });
});

describe('a time range the ids decide alone', () => {
  it('is one whose ends are whole seconds after 1970 and within the ids’ seconds', () => {
    expect(exactIdRange(undefined, undefined)).toEqual({});
    expect(exactIdRange(10_000, 12_000)).toEqual({ atLeast: firstIdOf(10), below: firstIdOf(12) });
    expect(exactIdRange(undefined, 12_000)).toEqual({ below: firstIdOf(12) });
    for (const [since, until] of [
      [10_500, 12_000],
      [10_000, 12_001],
      [0, 12_000],
      [-1_000, 12_000],
      [10_000, 2 ** 32 * 1000],
      [10_000, Number.NaN],
    ] as const) {
      expect(exactIdRange(since, until), `${since}..${until}`).toBeUndefined();
    }
  });
});
