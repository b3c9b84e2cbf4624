import { expect, it } from 'vitest';
import { PullSlots } from './pull-slots.ts';

it('holds at most max slots, and a slot given back can be taken again', () => {
  const slots = new PullSlots(2);
  expect(slots.free).toBe(true);
  expect(slots.take()).toBe(true);
  expect(slots.take()).toBe(true);
  expect(slots.free).toBe(false);
  expect(slots.take()).toBe(false);
  slots.give();
  expect(slots.free).toBe(true);
  expect(slots.take()).toBe(true);
  // giving back more than was taken never makes room beyond max
  slots.give();
  slots.give();
  slots.give();
  expect([slots.take(), slots.take(), slots.take()]).toEqual([true, true, false]);
});

it('with --once, reserves a slot to ask: a loop waits while every free slot is being asked with, and is told "full" only once those leases are won', async () => {
  const slots = new PullSlots(2);
  expect(await slots.reserve()).toBe(true);
  expect(await slots.reserve()).toBe(true);
  const third = slots.reserve();
  const fourth = slots.reserve();
  // the first ask heard "held by another process": its slot goes to a waiting loop
  slots.settle(false);
  expect(await third).toBe(true);
  slots.settle(true);
  slots.settle(true);
  expect(await fourth).toBe(false);
  expect(slots.free).toBe(false);
  // a corp given up frees its slot for the next ask
  slots.give();
  expect(await slots.reserve()).toBe(true);
});
