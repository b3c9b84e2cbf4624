import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../../src/errors/errors.ts';
import { WeComSdkError } from '../../src/errors/wecom-codes.ts';
import type { SdkBackend } from '../../src/sdk/backend.ts';
import { structSizes } from '../../src/sdk/native/finance-sdk-binding.ts';
import { createSimulatorBackend } from '../../src/sdk/simulator-backend.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { openRandomKey, parseChatData, type Envelope } from '../support/chat-data.ts';
import { buildFinanceDouble } from './build-double.ts';
import { doubleBackend, download, readStats, tempFile } from './native-support.ts';

const COUNT = 1500;
// seq near the top of uint64: a signed or double conversion anywhere would change it
const SEQ_START = (1n << 64n) - 100_000n;

let lib: string;
let incompleteLib: string;
let sim: RunningSimulator;
let reference: SdkBackend;
let envelopes: Envelope[];

const chatReq = (seq: bigint, limit = 1000, timeoutS = 5) => ({ seq, limit, proxy: '', passwd: '', timeoutS });

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
}

async function sdkError(p: Promise<unknown>): Promise<WeComSdkError> {
  const err = await rejection(p);
  if (!(err instanceof WeComSdkError)) throw new Error(`expected a WeComSdkError, got ${String(err)}`);
  return err;
}

beforeAll(async () => {
  [lib, incompleteLib] = await Promise.all([buildFinanceDouble(), buildFinanceDouble({ incomplete: true })]);
  sim = await startSimulator({ messages: COUNT, seed: 'native-backend', seqStart: SEQ_START });
  reference = createSimulatorBackend({ url: sim.url, corpid: sim.corp.corpid, secret: sim.corp.secret });
  envelopes = parseChatData(await reference.getChatData(chatReq(0n))).chatdata;
  envelopes.push(...parseChatData(await reference.getChatData(chatReq(envelopes.at(-1)!.seq))).chatdata);
});

afterAll(async () => {
  await reference?.close();
  await sim?.close();
});

function mediaFile(kind: 'dat' | 'mp4', blob: number) {
  const size = sim.sim.media.size(kind, blob);
  return { id: sim.sim.media.sdkFileId(kind, blob, 0, 0), md5: sim.sim.media.md5(kind, blob), bytes: sim.sim.media.read(kind, blob, 0, size) };
}

describe('native backend over the finance SDK double', () => {
  it("declares Slice_t and MediaData_t with the header's LP64 layout (16 and 32 bytes)", () => {
    expect(structSizes()).toEqual({ slice: 16, mediaData: 32 });
  });

  it('gives byte for byte what the simulator backend gives: chat pages, plaintexts, seq near 2^64', async () => {
    const native = doubleBackend(lib, sim);
    try {
      let seq = 0n;
      let pages = 0;
      for (;;) {
        const text = await native.getChatData(chatReq(seq, 400));
        expect(text).toBe(await reference.getChatData(chatReq(seq, 400)));
        const page = parseChatData(text).chatdata;
        if (page.length === 0) break;
        seq = page.at(-1)!.seq;
        pages += 1;
      }
      expect(pages).toBe(4);
      expect(seq).toBe(SEQ_START + BigInt(COUNT - 1));
      // All decrypts at once: queued, run one at a time on the host, each answered exactly once.
      const plaintexts = await Promise.all(envelopes.map((e) => native.decryptData(openRandomKey(e, sim.privateKeys), e.encrypt_chat_msg)));
      expect(plaintexts).toHaveLength(COUNT);
      for (const [i, p] of plaintexts.entries()) expect(p.equals(sim.plaintextOf(i)), `message ${i}`).toBe(true);
      expect(native.stats().restarts).toBe(0);
    } finally {
      await native.close();
    }
  });

  it('reads media by length: NUL bytes kept, chunks of at most 512 KB, the md5 of every file matches', async () => {
    const native = doubleBackend(lib, sim);
    try {
      // exactly one chunk, one chunk plus one byte, 137 bytes, and a multi-megabyte video
      for (const f of [mediaFile('dat', 0), mediaFile('dat', 1), mediaFile('dat', 2), mediaFile('mp4', 0)]) {
        const { bytes, calls } = await download(native, f.id);
        expect(bytes.equals(f.bytes)).toBe(true);
        expect(createHash('md5').update(bytes).digest('hex')).toBe(f.md5);
        expect(bytes.includes(0)).toBe(true);
        expect(calls).toBe(Math.max(1, Math.ceil(bytes.length / 524288)));
      }
    } finally {
      await native.close();
    }
  });

  it('runs many DecryptData calls in one exchange: the same plaintexts, and each SDK code in its own place', async () => {
    const native = doubleBackend(lib, sim);
    try {
      const items = envelopes.map((e) => ({ encryptKey: openRandomKey(e, sim.privateKeys), encryptMsg: e.encrypt_chat_msg }));
      // 1,500 messages: more than one exchange carries (DECRYPT_MANY_MAX)
      const answers = await native.decryptMany(items);
      expect(answers).toHaveLength(COUNT);
      for (const [i, a] of answers.entries()) expect(Buffer.isBuffer(a) && a.equals(sim.plaintextOf(i)), `message ${i}`).toBe(true);
      // a key a C string cannot carry and a message the SDK cannot decrypt fail alone, in their places
      const mixed = await native.decryptMany([
        items[0]!,
        { encryptKey: Buffer.from('abc\0def'), encryptMsg: items[1]!.encryptMsg },
        { ...items[2]!, encryptMsg: items[3]!.encryptMsg },
        items[3]!,
      ]);
      expect(mixed.map((a) => (a instanceof WeComSdkError ? a.wecomCode : Buffer.isBuffer(a) ? 'plaintext' : a))).toEqual(['plaintext', 10008, 10006, 'plaintext']);
      expect((mixed[3] as Buffer).equals(sim.plaintextOf(3))).toBe(true);
      expect(native.stats().restarts).toBe(0);
    } finally {
      await native.close();
    }
  });

  it('returns every SDK code as it was, frees every Slice and MediaData on every path, Inits and destroys each instance once', async () => {
    const stats = tempFile('stats.jsonl');
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_STATS: stats });
    const e = envelopes[0]!;
    const key = openRandomKey(e, sim.privateKeys);
    const file = mediaFile('dat', 1);
    for (let code = 10000; code <= 10011; code++) {
      sim.injectFault(`chatdata:${code}`);
      expect((await sdkError(native.getChatData(chatReq(0n)))).wecomCode).toBe(code);
      sim.injectFault(`media:${code}`);
      expect((await sdkError(native.getMediaData({ indexBuf: '', sdkFileId: file.id, proxy: '', passwd: '', timeoutS: 5 }))).wecomCode).toBe(code);
      sim.injectFault(`decrypt:${code}`);
      expect((await sdkError(native.decryptData(key, e.encrypt_chat_msg))).wecomCode).toBe(code);
      // and the next call of each works
      expect(parseChatData(await native.getChatData(chatReq(0n, 3))).chatdata).toHaveLength(3);
      expect((await download(native, file.id)).bytes.equals(file.bytes)).toBe(true);
      expect((await native.decryptData(key, e.encrypt_chat_msg)).equals(sim.plaintextOf(0))).toBe(true);
    }
    sim.injectFault('chatdata:10009');
    expect((await sdkError(native.getChatData(chatReq(0n)))).message).toMatch(/10009.*trusted IPs/);
    sim.injectFault('chatdata:10004');
    expect((await sdkError(native.getChatData(chatReq(0n)))).message).toMatch(/10004.*会话内容存档 \(chat archive\) Secret/);
    // truncated and garbled answers inside the SDK: data parse failure, not a crash
    sim.injectFault('chatdata:truncate');
    expect((await sdkError(native.getChatData(chatReq(0n)))).wecomCode).toBe(10002);
    // inputs a C string cannot carry are refused before they reach the library
    expect((await sdkError(native.decryptData(Buffer.from('abc\0def'), e.encrypt_chat_msg))).wecomCode).toBe(10008);
    expect((await sdkError(native.getChatData({ ...chatReq(0n), proxy: 'http://a\0b' }))).wecomCode).toBe(10000);
    expect((await sdkError(native.getChatData(chatReq(-1n)))).wecomCode).toBe(10000);
    expect((await sdkError(native.getChatData(chatReq(1n << 64n)))).wecomCode).toBe(10000);
    expect(native.stats().restarts).toBe(0);
    await native.close();

    const lines = readStats(stats);
    expect(lines).toHaveLength(3); // chat, decrypt and media hosts
    for (const line of lines) expect(line).toMatchObject({ slices_live: 0, media_live: 0, inits: 1, destroys: 1 });
    expect(lines.reduce((n, l) => n + l.calls, 0)).toBeGreaterThan(70);
  });

  it('refuses what a broken library hands back (bad lengths, missing buffers, odd flags) with 10002, and still frees it', async () => {
    const file = mediaFile('dat', 1);
    for (const mode of ['len', 'null', 'huge', 'finish', 'index']) {
      const stats = tempFile('stats.jsonl');
      const native = doubleBackend(lib, sim, { WECOM_DOUBLE_GARBLE: mode, WECOM_DOUBLE_STATS: stats });
      try {
        const chat = native.getChatData(chatReq(0n, 5));
        if (['len', 'null', 'huge'].includes(mode)) expect((await sdkError(chat)).wecomCode, mode).toBe(10002);
        else expect(parseChatData(await chat).chatdata).toHaveLength(5);
        const media = await sdkError(native.getMediaData({ indexBuf: '', sdkFileId: file.id, proxy: '', passwd: '', timeoutS: 5 }));
        expect(media.wecomCode, mode).toBe(10002);
        expect(native.events).toEqual([]);
      } finally {
        await native.close();
      }
      for (const line of readStats(stats)) expect(line, mode).toMatchObject({ slices_live: 0, media_live: 0, destroys: 1 });
      expect(readStats(stats)).toHaveLength(2);
    }
  });

  it('reports an Init failure as the SDK code, once per burst of calls, without restart loops', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_INIT_RET: '10004' });
    try {
      const errors = await Promise.all([native.getChatData(chatReq(0n)), native.getChatData(chatReq(0n))].map((p) => sdkError(p)));
      for (const err of errors) {
        expect(err.wecomCode).toBe(10004);
        expect(err.message).toMatch(/^Init failed with SDK code 10004/);
      }
      expect(native.events).toEqual([]);
    } finally {
      await native.close();
    }
  });

  it('refuses calls for a while when the host crashes while starting, instead of restarting in a loop', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_INIT_RET: 'segv' }, { startFailureCooldownMs: 60_000 });
    try {
      const first = await rejection(native.getChatData(chatReq(0n)));
      expect((first as ArchiveError).code).toBe('SDK_HOST_FAILED');
      expect((first as Error).message).toMatch(/killed by SIGSEGV while starting \(loading the library and Init\).*doctor --corp/);
      expect(await rejection(native.getChatData(chatReq(0n)))).toBe(first);
      expect(native.events).toMatchObject([{ lane: 'chat', cause: 'crash', signal: 'SIGSEGV', operation: 'Init' }]);
    } finally {
      await native.close();
    }
  });

  it('refuses a library that lacks SDK functions (naming them) and a file that is not a library', async () => {
    for (const [path, pattern] of [
      [incompleteLib, /lacks 2 of the 17 SDK functions: GetIndexLen, IsMediaDataFinish/],
      ['/etc/hostname', /cannot load \/etc\/hostname/],
      ['/nonexistent/libWeWorkFinanceSdk_C.so', /cannot load \/nonexistent/],
    ] as const) {
      const native = doubleBackend(path, sim);
      try {
        const err = await rejection(native.getChatData(chatReq(0n)));
        expect(err).toBeInstanceOf(ArchiveError);
        expect((err as ArchiveError).code).toBe('SDK_LOAD_FAILED');
        expect((err as Error).message).toMatch(pattern);
        expect(native.events).toEqual([]);
      } finally {
        await native.close();
      }
    }
  });

  it('gives the host its secret over IPC only, never in its command line or environment', async () => {
    const native = doubleBackend(lib, sim);
    try {
      await native.getChatData(chatReq(0n, 1));
      const [host] = native.stats().hosts;
      for (const file of ['cmdline', 'environ']) expect(readFileSync(`/proc/${host!.pid}/${file}`, 'latin1')).not.toContain(sim.corp.secret);
    } finally {
      await native.close();
    }
  });
});

describe('supervision of the SDK host', () => {
  it('retries a GetChatData whose host died of SIGSEGV on a fresh host; the restart names the signal', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'chatdata', WECOM_DOUBLE_SEGV: '1', WECOM_DOUBLE_COUNTER: tempFile('counter') });
    try {
      expect(await native.getChatData(chatReq(0n, 50))).toBe(await reference.getChatData(chatReq(0n, 50)));
      expect(native.events).toMatchObject([{ corpid: sim.corp.corpid, lane: 'chat', cause: 'crash', signal: 'SIGSEGV', operation: 'GetChatData' }]);
      expect(native.events[0]!.detail).toMatch(/killed by SIGSEGV during GetChatData/);
    } finally {
      await native.close();
    }
  });

  it('retries a media chunk whose host aborted with "free(): invalid pointer"; the file comes out whole', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'media', WECOM_DOUBLE_ABORT: '2', WECOM_DOUBLE_COUNTER: tempFile('counter') });
    try {
      const f = mediaFile('mp4', 0);
      const { bytes } = await download(native, f.id);
      expect(createHash('md5').update(bytes).digest('hex')).toBe(f.md5);
      expect(native.events).toMatchObject([{ lane: 'media', cause: 'crash', signal: 'SIGABRT', operation: 'GetMediaData' }]);
      expect(native.events[0]!.detail).toContain('free(): invalid pointer');
    } finally {
      await native.close();
    }
  });

  it('kills a host that hangs past the deadline and retries the call', async () => {
    const native = doubleBackend(
      lib,
      sim,
      { WECOM_DOUBLE_OPS: 'decrypt,chatdata', WECOM_DOUBLE_HANG: '1,3', WECOM_DOUBLE_COUNTER: tempFile('counter') },
      { decryptDeadlineMs: 1_500, callGraceMs: 1_000 },
    );
    try {
      const e = envelopes[5]!;
      const started = Date.now();
      expect((await native.decryptData(openRandomKey(e, sim.privateKeys), e.encrypt_chat_msg)).equals(sim.plaintextOf(5))).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
      // call 1 (DecryptData) hung, its retry was call 2; call 3 (GetChatData, timeout 1 s) hangs, 4 answers
      expect(parseChatData(await native.getChatData(chatReq(0n, 2, 1))).chatdata).toHaveLength(2);
      expect(native.events).toMatchObject([
        { lane: 'decrypt', cause: 'hang', signal: 'SIGKILL', operation: 'DecryptData' },
        { lane: 'chat', cause: 'hang', signal: 'SIGKILL', operation: 'GetChatData' },
      ]);
      expect(native.events[1]!.detail).toMatch(/did not answer within 2\.0 s/);
    } finally {
      await native.close();
    }
  });

  it('gives up on a call that kills every host, with a clear error, while the other lanes go on', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_SEGV: '*' }, { maxAttempts: 3 });
    try {
      const e = envelopes[0]!;
      const [err, text] = await Promise.all([rejection(native.decryptData(openRandomKey(e, sim.privateKeys), e.encrypt_chat_msg)), native.getChatData(chatReq(0n, 5))]);
      expect(err).toBeInstanceOf(ArchiveError);
      expect((err as ArchiveError).code).toBe('SDK_HOST_FAILED');
      expect((err as Error).message).toMatch(/DecryptData did not complete in 3 tries: each time the SDK host process was killed by SIGSEGV.*doctor --corp/);
      expect(parseChatData(text).chatdata).toHaveLength(5);
      expect(native.events.filter((ev) => ev.lane === 'decrypt' && ev.signal === 'SIGSEGV')).toHaveLength(3);
    } finally {
      await native.close();
    }
  });

  it('does not retry many DecryptData calls whose host died: one of them may be what kills it', async () => {
    const counter = tempFile('counter');
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_SEGV: '3', WECOM_DOUBLE_COUNTER: counter });
    try {
      const items = envelopes.slice(0, 5).map((e) => ({ encryptKey: openRandomKey(e, sim.privateKeys), encryptMsg: e.encrypt_chat_msg }));
      const err = await rejection(native.decryptMany(items));
      expect(err).toBeInstanceOf(ArchiveError);
      expect((err as ArchiveError).code).toBe('SDK_HOST_FAILED');
      expect((err as Error).message).toMatch(
        /^DecryptData of 5 messages at once did not complete: the SDK host process was killed by SIGSEGV\. Each message is tried on its own instead$/,
      );
      // the third call died and nothing after it ran: the caller decrypts them one by one instead
      expect(Number(readFileSync(counter, 'utf8'))).toBe(3);
      expect(native.events).toMatchObject([{ lane: 'decrypt', cause: 'crash', signal: 'SIGSEGV', operation: 'DecryptData' }]);
      const one = await native.decryptData(items[4]!.encryptKey, items[4]!.encryptMsg);
      expect(one.equals(sim.plaintextOf(4))).toBe(true);
    } finally {
      await native.close();
    }
  });

  it('runs chat data and media on separate hosts: a slow media download does not hold up GetChatData', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'media', WECOM_DOUBLE_SLOW_MS: '2000' });
    try {
      const order: string[] = [];
      await Promise.all([
        native.getMediaData({ indexBuf: '', sdkFileId: mediaFile('dat', 2).id, proxy: '', passwd: '', timeoutS: 5 }).then(() => order.push('media')),
        native.getChatData(chatReq(0n, 10)).then(() => order.push('chat')),
      ]);
      expect(order).toEqual(['chat', 'media']);
    } finally {
      await native.close();
    }
  });

  it('replaces a host that grows past the memory ceiling, between calls, losing no call', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_LEAK: String(16 << 20) }, { memoryCeilingBytes: 200 << 20 });
    try {
      for (let i = 0; i < 24; i++) {
        const e = envelopes[i]!;
        expect((await native.decryptData(openRandomKey(e, sim.privateKeys), e.encrypt_chat_msg)).equals(sim.plaintextOf(i))).toBe(true);
      }
      const memory = native.events.filter((ev) => ev.cause === 'memory');
      expect(memory.length).toBeGreaterThanOrEqual(1);
      expect(native.events.length).toBe(memory.length);
      expect(memory[0]).toMatchObject({ lane: 'decrypt', operation: 'DecryptData', signal: null });
      expect(memory[0]!.rssBytes).toBeGreaterThan(200 << 20);
    } finally {
      await native.close();
    }
  });

  it('releases a caller whose signal aborts while its call waits in the queue', async () => {
    const native = doubleBackend(lib, sim, { WECOM_DOUBLE_OPS: 'decrypt', WECOM_DOUBLE_SLOW_MS: '800' });
    try {
      const [a, b] = [envelopes[0]!, envelopes[1]!];
      const controller = new AbortController();
      const first = native.decryptData(openRandomKey(a, sim.privateKeys), a.encrypt_chat_msg);
      const second = native.decryptData(openRandomKey(b, sim.privateKeys), b.encrypt_chat_msg, controller.signal);
      controller.abort(new Error('stopping'));
      expect(((await rejection(second)) as Error).message).toBe('stopping');
      expect((await first).equals(sim.plaintextOf(0))).toBe(true);
    } finally {
      await native.close();
    }
  });
});
