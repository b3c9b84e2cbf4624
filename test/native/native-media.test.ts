import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { buildFinanceDouble } from './build-double.ts';
import { doubleBackend, download, mediaOf, tempFile } from './native-support.ts';

let lib: string;
let sim: RunningSimulator;

beforeAll(async () => {
  lib = await buildFinanceDouble();
  sim = await startSimulator({ messages: 300, seed: 'native-media' });
});

afterAll(async () => {
  await sim?.close();
});

it('aborts and crashes of the SDK during media downloads end with every file downloaded once, whole', async () => {
  const files = mediaOf(sim, 300);
  expect(files.length).toBeGreaterThan(20);
  // One call counter for every host: media calls 3 and 30 abort ("free(): invalid pointer"),
  // every 25th dies of SIGSEGV.
  const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'media', WECOM_DOUBLE_ABORT: '3,30', WECOM_DOUBLE_SEGV: 'every:25', WECOM_DOUBLE_COUNTER: tempFile('counter') });
  try {
    const archived = new Map<string, Buffer>();
    let calls = 0;
    // three downloads at a time, as a media stage would run them
    const queue = [...files];
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const { bytes, calls: n } = await download(native, f.sdkfileid);
          calls += n;
          expect(archived.has(f.sdkfileid)).toBe(false);
          archived.set(f.sdkfileid, bytes);
        }
      }),
    );
    expect(calls).toBeGreaterThan(50);
    expect(archived.size).toBe(files.length);
    for (const f of files) expect(createHash('md5').update(archived.get(f.sdkfileid)!).digest('hex'), f.sdkfileid).toBe(f.md5sum);

    const aborts = native.events.filter((e) => e.signal === 'SIGABRT');
    const segvs = native.events.filter((e) => e.signal === 'SIGSEGV');
    expect(aborts).toHaveLength(2);
    expect(aborts.every((e) => e.lane === 'media' && e.operation === 'GetMediaData' && e.detail.includes('free(): invalid pointer'))).toBe(true);
    expect(segvs.length).toBeGreaterThanOrEqual(Math.floor(calls / 25) - 1);
    expect(native.events).toHaveLength(aborts.length + segvs.length);
  } finally {
    await native.close();
  }
});
