/** The delay before the next attempt, as data a stage is given (tests pass short ones). */
export interface Backoff {
  /** delay before the attempt after `failures` consecutive failures */
  delayMs(failures: number): number;
}

/** The delay after `failures` consecutive failures (1 or more): doubling from `baseMs`, capped at `maxMs`. */
export function doublingDelayMs(baseMs: number, maxMs: number, failures: number): number {
  // the exponent's cap only keeps the power finite; maxMs is reached long before it
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

/**
 * The doubling delay drawn from the upper half of its value, so that processes failing together
 * spread out without ever retrying at once.
 */
export function jitteredDelayMs(baseMs: number, maxMs: number, failures: number, random: () => number = Math.random): number {
  const ceiling = doublingDelayMs(baseMs, maxMs, failures);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Exponential backoff with jitter, capped. */
export function exponentialBackoff(baseMs: number, maxMs: number, random: () => number = Math.random): Backoff {
  return { delayMs: (failures) => jitteredDelayMs(baseMs, maxMs, failures, random) };
}

/** Doubling backoff without jitter, capped: the delay after `failures` failures is doublingDelayMs of it. */
export function doublingBackoff(baseMs: number, maxMs: number): Backoff {
  return { delayMs: (failures) => doublingDelayMs(baseMs, maxMs, failures) };
}
