/**
 * The simulator's own clock. Tests start it at a fixed instant and move it forward to push
 * messages out of the 5-day window; a demo lets it run with real time so `--rate` produces
 * messages as time passes. It only moves forward: arrival times must never decrease.
 */
import { ValidationError } from '../../errors/errors.ts';

export interface SimClock {
  now(): number;
  /** Moves the clock forward by `ms` (>= 0). */
  advance(ms: number): void;
}

export interface ClockOptions {
  /** the simulator's time at start (ms since epoch); default: the real time */
  now?: number;
  /** added to the real time (ignored when `now` is set) */
  offsetMs?: number;
  /** when true, time stands still except for advance() */
  frozen?: boolean;
}

export function createClock(opts: ClockOptions = {}, realNow: () => number = Date.now): SimClock {
  const start = realNow();
  let offset = opts.now !== undefined ? opts.now - start : (opts.offsetMs ?? 0);
  return {
    now: () => (opts.frozen ? start : realNow()) + offset,
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) throw new ValidationError('CLOCK_INVALID', `the simulator clock only moves forward; cannot advance by ${ms} ms`);
      offset += Math.round(ms);
    },
  };
}
