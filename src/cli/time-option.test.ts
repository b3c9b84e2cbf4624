import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.ts';
import { parseTimeOption, parseTimeRange } from './time-option.ts';

const refused = (text: string): string => {
  try {
    parseTimeOption(text, 'since');
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error(`${text} was accepted`);
};

describe('--since / --until', () => {
  it('reads ISO dates and date-times as UTC unless they name a zone', () => {
    expect(parseTimeOption('2026-11-23', 'since')).toBe(Date.UTC(2026, 10, 23));
    expect(parseTimeOption('2026-11-23T08:00', 'since')).toBe(Date.UTC(2026, 10, 23, 8));
    expect(parseTimeOption('2026-11-23T08:00:00+08:00', 'since')).toBe(Date.UTC(2026, 10, 23, 0));
    expect(parseTimeOption('2026-11-23 08:00:00.5Z', 'since')).toBe(Date.UTC(2026, 10, 23, 8, 0, 0, 500));
    expect(parseTimeOption('2028-02-29', 'since')).toBe(Date.UTC(2028, 1, 29));
    expect(parseTimeOption(undefined, 'since')).toBeUndefined();
  });

  it('refuses what is not on the calendar', () => {
    expect(refused('2026-02-30')).toMatch(/--since "2026-02-30" is not a date: 2026-02 has 28 days/);
    expect(refused('2026-02-29')).toMatch(/has 28 days/);
    expect(refused('2026-13-01')).toMatch(/has no month 13/);
    expect(refused('2026-11-23T24:00')).toMatch(/not a time of day/);
    expect(refused('yesterday')).toMatch(/is not a date; give an ISO date/);
  });

  it('takes 10 digits or fewer as seconds and 13 as milliseconds, and refuses the lengths in between', () => {
    expect(parseTimeOption('1796390000', 'since')).toBe(1_796_390_000_000);
    expect(parseTimeOption('0', 'since')).toBe(0);
    expect(parseTimeOption('1796390000000', 'since')).toBe(1_796_390_000_000);
    expect(refused('17963900000')).toMatch(/has 11 digits, which could be seconds or milliseconds/);
    expect(refused('179639000000000')).toMatch(/has 15 digits/);
  });

  it('refuses a range with since not before until', () => {
    expect(parseTimeRange('2026-11-01', '2026-11-02')).toEqual({ since: Date.UTC(2026, 10, 1), until: Date.UTC(2026, 10, 2) });
    expect(() => parseTimeRange('2026-11-02', '2026-11-01')).toThrow(/--since 2026-11-02 is not before --until 2026-11-01/);
    expect(() => parseTimeRange('2026-11-02', '2026-11-02')).toThrow(ValidationError);
    expect(parseTimeRange('2026-11-02', undefined).until).toBeUndefined();
  });
});
