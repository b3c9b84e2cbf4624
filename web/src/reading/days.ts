/** Days as the reader sees them: in the browser's time zone, for separators and the sticky header. */

/** The local calendar day of a time, as YYYY-MM-DD (a key to compare days by). */
export function localDay(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** A day for a person: 2026年3月1日 星期日 / Sunday, March 1, 2026. */
export function dayLabel(ms: number, locale: string): string {
  return new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' }).format(new Date(ms));
}

/** A short time for lists: today's as 14:05, older ones as a date. */
export function shortTime(ms: number, locale: string, now = Date.now()): string {
  if (!Number.isFinite(ms)) return '';
  const same = localDay(ms) === localDay(now);
  const options: Intl.DateTimeFormatOptions = same
    ? { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }
    : new Date(ms).getFullYear() === new Date(now).getFullYear()
      ? { month: '2-digit', day: '2-digit' }
      : { year: 'numeric', month: '2-digit', day: '2-digit' };
  return new Intl.DateTimeFormat(locale, options).format(new Date(ms));
}

/** The start of a day of the archive's calendar (the days route's UTC offset), in ms. */
export function dayStart(day: string, utcOffsetMinutes: number): number {
  const [y, m, d] = day.split('-').map(Number);
  return Date.UTC(y!, m! - 1, d!) - utcOffsetMinutes * 60_000;
}

/** A YYYY-MM month moved by `delta` months. */
export function shiftMonth(month: string, delta: number): string {
  const [y, m] = month.split('-').map(Number);
  const d = new Date(Date.UTC(y!, m! - 1 + delta, 1));
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
}
