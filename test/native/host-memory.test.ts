import { afterAll, beforeAll, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { openRandomKey, parseChatData } from '../support/chat-data.ts';
import { buildFinanceDouble } from './build-double.ts';
import { doubleBackend, readStats, tempFile } from './native-support.ts';

// Enough large outputs that one Slice or MediaData not freed per call would add hundreds of MB: the
// double counts what it handed out and what was freed. How the hosts' memory grows meanwhile is a
// figure of `npm run bench:native` (hostRssMB), not an assertion here.
const CHAT_PAGES = 60; // ~1 MB each
const DECRYPTS = 1200;

let lib: string;
let sim: RunningSimulator;

beforeAll(async () => {
  lib = await buildFinanceDouble();
  sim = await startSimulator({ messages: 1000, seed: 'native-memory' });
});

afterAll(async () => {
  await sim?.close();
});

it('frees every Slice and MediaData over thousands of calls with large outputs, with no host restarted', async () => {
  const stats = tempFile('stats.jsonl');
  const native = doubleBackend(lib, sim, { WECOM_DOUBLE_STATS: stats });
  const chunkFile = sim.sim.media.sdkFileId('dat', 0, 0, 0); // exactly 524288 bytes
  const envelopes = parseChatData(await native.getChatData({ seq: 0n, limit: 1000, proxy: '', passwd: '', timeoutS: 5 })).chatdata;
  const keys = envelopes.map((e) => openRandomKey(e, sim.privateKeys));

  const round = async (n: number) => {
    for (let i = 0; i < n; i++) {
      await native.getChatData({ seq: 0n, limit: 1000, proxy: '', passwd: '', timeoutS: 5 });
      // two 512 KB chunks a page
      await native.getMediaData({ indexBuf: '', sdkFileId: chunkFile, proxy: '', passwd: '', timeoutS: 5 });
      await native.getMediaData({ indexBuf: '', sdkFileId: chunkFile, proxy: '', passwd: '', timeoutS: 5 });
    }
    await Promise.all(Array.from({ length: n * (DECRYPTS / CHAT_PAGES) }, (_, k) => native.decryptData(keys[k % keys.length]!, envelopes[k % keys.length]!.encrypt_chat_msg)));
  };
  try {
    await round(10);
    await round(CHAT_PAGES);
    expect(native.stats().restarts).toBe(0);
  } finally {
    await native.close();
  }
  const lines = readStats(stats);
  expect(lines).toHaveLength(3);
  for (const line of lines) expect(line).toMatchObject({ slices_live: 0, media_live: 0, inits: 1, destroys: 1 });
});
