import { ValidationError } from '../errors/errors.ts';

const UNITS: Readonly<Record<string, number>> = Object.freeze({ s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 });

/** What a duration looks like, for messages. */
export const DURATION_FORMS = 'a whole number with a unit s, m, h or d (90s, 30m, 12h, 7d)';

/** A duration such as `30m` in milliseconds; `what` names the option or setting in the error. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : 0;
  if (ms <= 0) throw new ValidationError('DURATION_INVALID', `${what} ${JSON.stringify(text.slice(0, 40))} is not a duration; give ${DURATION_FORMS}`);
  return ms;
}

/** A duration in the largest unit that writes it exactly (`30m`, `12h`, `90s`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm'] as const) if (ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}
