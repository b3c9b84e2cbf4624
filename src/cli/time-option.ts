import { ValidationError } from '../errors/errors.ts';

/** What `--since` / `--until` accept, for messages and `--help`. */
export const TIME_FORMS =
  'an ISO date or date-time (2026-11-23, 2026-11-23T08:00, 2026-11-23T08:00:00+08:00; UTC unless it names a zone), ' +
  'epoch seconds (10 digits or fewer) or epoch milliseconds (13 digits)';

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A time option in milliseconds since the epoch. Every field is checked against the calendar
 * (2026-02-30 is not a date, though Date.parse rolls it over to March). Epoch integers are told
 * apart by length: seconds have at most 10 digits (until 2286), milliseconds exactly 13; any other
 * length could be either and is refused rather than guessed.
 */
export function parseTimeOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const wrong = (why: string): ValidationError => new ValidationError('TIME_INVALID', `--${name} ${JSON.stringify(text)} ${why}; give ${TIME_FORMS}`);
  const value = text.trim();
  if (/^\d+$/.test(value)) {
    if (value.length <= 10) return Number(value) * 1000;
    if (value.length === 13) return Number(value);
    throw wrong(`has ${value.length} digits, which could be seconds or milliseconds`);
  }
  const m = ISO.exec(value);
  if (!m) throw wrong('is not a date');
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '0', zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) throw wrong(`has no month ${month}`);
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) throw wrong(`is not a date: ${y}-${mo} has ${daysInMonth} days`);
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw wrong('is not a time of day');
  let offsetMin = 0;
  if (zone && zone !== 'Z') {
    const z = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    if (Number(z[2]) > 14 || Number(z[3]) > 59) throw wrong(`has no time zone ${zone}`);
    offsetMin = (z[1] === '-' ? -1 : 1) * (Number(z[2]) * 60 + Number(z[3]));
  }
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear keeps the year as written
  const at = new Date(Date.UTC(2000, month - 1, day, Number(h), Number(mi), Number(s), Number(frac.padEnd(3, '0'))));
  at.setUTCFullYear(year);
  return at.getTime() - offsetMin * 60_000;
}

/** `--since` and `--until` together: the range must hold some time (since before until). */
export function parseTimeRange(sinceText: string | undefined, untilText: string | undefined): { since: number | undefined; until: number | undefined } {
  const since = parseTimeOption(sinceText, 'since');
  const until = parseTimeOption(untilText, 'until');
  if (since !== undefined && until !== undefined && since >= until) {
    throw new ValidationError(
      'TIME_RANGE_EMPTY',
      `--since ${sinceText} is not before --until ${untilText} (${new Date(since).toISOString()} ≥ ${new Date(until).toISOString()}): no message can be in that range`,
    );
  }
  return { since, until };
}
