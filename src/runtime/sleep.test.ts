import { expect, it } from 'vitest';
import { Bell, sleep } from './sleep.ts';

/** Whether `p` settles within a few event-loop turns (the sleeps below are a minute long). */
async function settlesSoon(p: Promise<unknown>): Promise<boolean> {
  return Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 30))]);
}

it('a ring wakes the sleeper waiting on the bell', async () => {
  const bell = new Bell();
  const slept = sleep(60_000, undefined, bell);
  expect(await settlesSoon(slept)).toBe(false);
  bell.ring();
  expect(await settlesSoon(slept)).toBe(true);
});

it('a ring while nobody sleeps wakes the next sleep once, not every later one', async () => {
  const bell = new Bell();
  // the loop was busy (between its check for work and its sleep) when the work came
  bell.ring();
  bell.ring();
  expect(await settlesSoon(sleep(60_000, undefined, bell))).toBe(true);
  // the kept ring is spent: the next sleep runs its time (or is aborted)
  const stop = new AbortController();
  const next = sleep(60_000, stop.signal, bell);
  expect(await settlesSoon(next)).toBe(false);
  stop.abort();
  expect(await settlesSoon(next)).toBe(true);
});
