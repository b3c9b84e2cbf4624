import { expect, it } from 'vitest';
import { classifyGap, formatAge, GAP_LOSS_MARGIN_MS, WECOM_RETENTION_MS } from './gap-kind.ts';

const H = 3600_000;

it('takes a jump for a loss only when the cursor was past, or within the margin of, the 5-day window', () => {
  const at = 1_800_000_000_000;
  expect(classifyGap(at, at - H)).toEqual({ kind: 'jump', cursorAgeMs: H });
  expect(classifyGap(at, at - (WECOM_RETENTION_MS - GAP_LOSS_MARGIN_MS))).toEqual({ kind: 'jump', cursorAgeMs: WECOM_RETENTION_MS - GAP_LOSS_MARGIN_MS });
  expect(classifyGap(at, at - (WECOM_RETENTION_MS - GAP_LOSS_MARGIN_MS) - 1).kind).toBe('loss');
  expect(classifyGap(at, at - 5.5 * 24 * H)).toEqual({ kind: 'loss', cursorAgeMs: 5.5 * 24 * H });
  // nothing known about the cursor's age: loud
  expect(classifyGap(at, null)).toEqual({ kind: 'loss', cursorAgeMs: null });
  // a cursor time ahead of the archive's clock is age 0, not negative
  expect(classifyGap(at, at + H)).toEqual({ kind: 'jump', cursorAgeMs: 0 });
  expect(GAP_LOSS_MARGIN_MS).toBe(6 * H);
});

it('formats ages in hours, then days and hours', () => {
  expect(formatAge(1.25 * H)).toBe('1.3 h');
  expect(formatAge(4 * 24 * H + 20 * H)).toBe('4 d 20 h');
});
