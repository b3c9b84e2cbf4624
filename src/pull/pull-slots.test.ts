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
