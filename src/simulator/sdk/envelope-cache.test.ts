import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Simulator } from '../core/simulator.ts';

describe('envelope cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-envcache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves exactly the envelopes the simulator makes on the fly, and live ones past its end', async () => {
    const live = await Simulator.create({ messages: 600, seed: 'cache', keySchedule: '1:0,2:300', now: 1_790_000_000_000, freezeClock: true });
    const cached = await Simulator.create({ messages: 600, seed: 'cache', keySchedule: '1:0,2:300', now: 1_790_000_000_000, freezeClock: true, keys: live.privateKeyPems() });
    cached.prepareEnvelopes(join(dir, 'env'));
    expect(statSync(join(dir, 'env')).size).toBeGreaterThan(600 * 400);
    live.appendGenerated(50);
    cached.appendGenerated(50);
    for (const [seq, limit] of [
      [0n, 1000],
      [0n, 1],
      [299n, 7],
      [590n, 100],
      [640n, 100],
    ] as const) {
      const a = live.getChatData(seq, limit);
      const b = cached.getChatData(seq, limit);
      expect(b).toEqual(a);
    }
    cached.dispose();
  });
});
