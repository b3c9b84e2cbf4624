import { expect, it } from 'vitest';
import { PullSlots } from './pull-slots.ts';

it('holds at most max slots; a loop still asking makes the next wait for its answer instead of giving up', async () => {
  const slots = new PullSlots(2);
  expect(await slots.reserve()).toBe(true);
  expect(await slots.reserve()).toBe(true);
  // both still asking: a third waits, and gets the slot of a lease another process turned out to hold
  let third: boolean | undefined;
  const waiting = slots.reserve().then((r) => (third = r));
  await Promise.resolve();
  expect(third).toBeUndefined();
  slots.settle(true);
  slots.settle(false);
  await waiting;
  expect(third).toBe(true);
  slots.settle(true);
  // two held, none asking: full
  expect(await slots.reserve()).toBe(false);
  slots.give();
  expect(await slots.reserve()).toBe(true);
});
