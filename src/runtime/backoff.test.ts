import { expect, it } from 'vitest';
import { doublingDelayMs, exponentialBackoff, jitteredDelayMs } from './backoff.ts';

it('doubles from the base after each failure and stops at the cap', () => {
  expect([1, 2, 3, 4, 5, 6].map((f) => doublingDelayMs(1_000, 10_000, f))).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  expect(doublingDelayMs(5_000, 3_600_000, 10_000)).toBe(3_600_000);
});

it('draws the jittered delay from the upper half of the doubling one', () => {
  expect(jitteredDelayMs(1_000, 60_000, 3, () => 0)).toBe(2_000);
  expect(jitteredDelayMs(1_000, 60_000, 3, () => 0.999_999)).toBe(4_000);
  const backoff = exponentialBackoff(500, 15_000);
  for (let f = 1; f < 12; f++) {
    const ceiling = doublingDelayMs(500, 15_000, f);
    const d = backoff.delayMs(f);
    expect(d).toBeGreaterThanOrEqual(ceiling / 2);
    expect(d).toBeLessThanOrEqual(ceiling);
  }
});
