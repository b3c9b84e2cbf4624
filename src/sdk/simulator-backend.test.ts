import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveError } from '../errors/errors.ts';
import { WeComSdkError } from '../errors/wecom-codes.ts';
import { messageTypes } from '../simulator/core/message-types.ts';
import { startSimulator, type RunningSimulator } from '../simulator/server.ts';
import { messageTypeOf, openRandomKey, parseChatData, parseMessage, type Envelope } from '../../test/support/chat-data.ts';
import { MEDIA_CHUNK_MAX, type ChatDataRequest, type SdkBackend } from './backend.ts';
import { createSimulatorBackend } from './simulator-backend.ts';

const NOW = Date.UTC(2025, 2, 1, 9, 0, 0);
const COUNT = 2000;

let sim: RunningSimulator;
let sdk: SdkBackend;

function chatReq(seq: bigint, limit = 1000, timeoutS = 5): ChatDataRequest {
  return { seq, limit, proxy: '', passwd: '', timeoutS };
}

async function sdkError(p: Promise<unknown>): Promise<WeComSdkError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WeComSdkError)) throw new Error(`expected a WeComSdkError, got ${String(err)}`);
  return err;
}

/** Downloads a whole media file chunk by chunk, as the archive's media stage does. */
async function download(backend: SdkBackend, sdkFileId: string): Promise<{ bytes: Buffer; tokens: string[] }> {
  const chunks: Buffer[] = [];
  const tokens: string[] = [];
  let indexBuf = '';
  for (;;) {
    const chunk = await backend.getMediaData({ indexBuf, sdkFileId, proxy: '', passwd: '', timeoutS: 5 });
    expect(chunk.data.length).toBeLessThanOrEqual(MEDIA_CHUNK_MAX);
    chunks.push(chunk.data);
    if (chunk.isFinish) return { bytes: Buffer.concat(chunks), tokens };
    tokens.push(chunk.outIndex);
    indexBuf = chunk.outIndex;
  }
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 'backend-test', messages: COUNT, keySchedule: '1:0,2:500', now: NOW, freezeClock: true });
  sdk = createSimulatorBackend({ url: sim.url, corpid: sim.corp.corpid, secret: sim.corp.secret });
});

afterAll(async () => {
  await sdk?.close();
  await sim?.close();
});

describe('simulator backend against the simulator', () => {
  it('fetches every message page by page; each decrypts to exactly plaintextOf(i)', async () => {
    const envelopes: Envelope[] = [];
    let seq = 0n;
    for (;;) {
      const doc = parseChatData(await sdk.getChatData(chatReq(seq, 700)));
      expect(doc.errcode).toBe(0);
      if (doc.chatdata.length === 0) break;
      envelopes.push(...doc.chatdata);
      seq = doc.chatdata[doc.chatdata.length - 1]?.seq as bigint;
    }
    expect(envelopes).toHaveLength(COUNT);
    expect(envelopes.map((e) => e.seq)).toEqual(Array.from({ length: COUNT }, (_, i) => BigInt(i + 1)));
    expect(envelopes.slice(0, 500).every((e) => e.publickey_ver === 1)).toBe(true);
    expect(envelopes.slice(500).every((e) => e.publickey_ver === 2)).toBe(true);

    const keys = sim.privateKeys;
    const seen = new Set<string>();
    for (const [i, e] of envelopes.entries()) {
      const plaintext = await sdk.decryptData(openRandomKey(e, keys), e.encrypt_chat_msg);
      expect(plaintext.equals(sim.plaintextOf(i)), `message ${i}`).toBe(true);
      const doc = parseMessage(plaintext);
      expect(doc.msgid).toBe(e.msgid);
      seen.add(messageTypeOf(doc));
    }
    for (const type of messageTypes) expect(seen, type).toContain(type);
  });

  it('decrypts through the HTTP route too, with the same bytes and codes', async () => {
    const viaHttp = createSimulatorBackend({ url: `simulator:${sim.url}`, corpid: sim.corp.corpid, secret: sim.corp.secret, decrypt: 'http' });
    try {
      const [e] = parseChatData(await sdk.getChatData(chatReq(600n, 1))).chatdata;
      const key = openRandomKey(e as Envelope, sim.privateKeys);
      expect((await viaHttp.decryptData(key, (e as Envelope).encrypt_chat_msg)).equals(sim.plaintextOf(600))).toBe(true);
      const wrong = Buffer.from(key);
      wrong[0] = (wrong[0] as number) ^ 1;
      for (const backend of [sdk, viaHttp]) {
        expect((await sdkError(backend.decryptData(wrong, (e as Envelope).encrypt_chat_msg))).wecomCode).toBe(10006);
        // passing the base64 instead of the RSA output is a classic mistake
        expect((await sdkError(backend.decryptData(Buffer.from((e as Envelope).encrypt_random_key), (e as Envelope).encrypt_chat_msg))).wecomCode).toBe(10008);
      }
    } finally {
      await viaHttp.close();
    }
  });

  it('downloads media in ≤ 512 KB chunks with Range tokens; the md5 matches the message', async () => {
    const media = Array.from({ length: COUNT }, (_, i) => parseMessage(sim.plaintextOf(i)))
      .map((d) => (d.file ?? d.video ?? d.voice ?? d.image) as { sdkfileid?: string; md5sum?: string; filesize?: number; voice_size?: number } | undefined)
      .filter((b): b is { sdkfileid: string; md5sum: string; filesize?: number; voice_size?: number } => typeof b?.sdkfileid === 'string' && b.md5sum !== '');
    const big = media.find((b) => (b.filesize ?? 0) > 2 * MEDIA_CHUNK_MAX);
    const small = media.find((b) => b.voice_size !== undefined);
    if (!big || !small) throw new Error('need a large file and a voice message');
    for (const m of [big, small]) {
      const { bytes, tokens } = await download(sdk, m.sdkfileid);
      expect(bytes.length).toBe(m.filesize ?? m.voice_size);
      expect(createHash('md5').update(bytes).digest('hex')).toBe(m.md5sum);
      expect(bytes.includes(0)).toBe(true);
      if (m === big) expect(tokens[0]).toBe('Range:bytes=524288-1048575');
      else expect(tokens).toEqual([]);
    }
    const unknown = await sdkError(sdk.getMediaData({ indexBuf: '', sdkFileId: 'CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNGM3YzE', proxy: '', passwd: '', timeoutS: 5 }));
    expect(unknown.wecomCode).toBe(10005);
    const badIndex = await sdkError(sdk.getMediaData({ indexBuf: 'Range:bytes=9-1', sdkFileId: big.sdkfileid, proxy: '', passwd: '', timeoutS: 5 }));
    expect(badIndex.wecomCode).toBe(10000);
  });

  it('refuses limit outside 1–1000 with 10000', async () => {
    expect((await sdkError(sdk.getChatData(chatReq(0n, 1001)))).wecomCode).toBe(10000);
    expect((await sdkError(sdk.getChatData(chatReq(0n, 0)))).wecomCode).toBe(10000);
    expect((await sdkError(sdk.getChatData(chatReq(-1n)))).wecomCode).toBe(10000);
  });

  it('fails with 10004 for a wrong secret or an unknown corp', async () => {
    for (const [corpid, secret] of [
      [sim.corp.corpid, 'wrong-secret'],
      ['ww0000000000000000', sim.corp.secret],
    ] as const) {
      const other = createSimulatorBackend({ url: sim.url, corpid, secret });
      try {
        const err = await sdkError(other.getChatData(chatReq(0n)));
        expect(err.wecomCode).toBe(10004);
        expect(err.message).not.toContain(sim.corp.secret);
        expect((await sdkError(other.getMediaData({ indexBuf: '', sdkFileId: 'x', proxy: '', passwd: '', timeoutS: 5 }))).wecomCode).toBe(10004);
      } finally {
        await other.close();
      }
    }
  });
});

describe('faults', () => {
  it.each([10001, 10002, 10003, 10009, 10010])('returns SDK code %i for the next N calls, then works again', async (code) => {
    sim.injectFault({ op: 'chatdata', kind: 'sdk-code', code, count: 2 });
    for (let k = 0; k < 2; k++) {
      const err = await sdkError(sdk.getChatData(chatReq(0n, 1)));
      expect(err.wecomCode).toBe(code);
      expect(err.transient).toBe(code <= 10003);
    }
    expect(parseChatData(await sdk.getChatData(chatReq(0n, 1))).chatdata).toHaveLength(1);
    sim.injectFault(`media:${code}`);
    const file = parseMessage(sim.plaintextOf(0)).image as { sdkfileid: string } | undefined;
    const id = file?.sdkfileid ?? sim.sim.media.sdkFileId('jpg', 0, 0, 0);
    expect((await sdkError(sdk.getMediaData({ indexBuf: '', sdkFileId: id, proxy: '', passwd: '', timeoutS: 5 }))).wecomCode).toBe(code);
    expect((await sdk.getMediaData({ indexBuf: '', sdkFileId: id, proxy: '', passwd: '', timeoutS: 5 })).data.length).toBeGreaterThan(0);
  });

  it('puts a JSON-level errcode inside a successful GetChatData', async () => {
    sim.injectFault('chatdata:errcode=301042');
    const text = await sdk.getChatData(chatReq(0n));
    expect(JSON.parse(text)).toEqual({ errcode: 301042, errmsg: 'ip not in whitelist' });
    expect(parseChatData(await sdk.getChatData(chatReq(0n, 3))).chatdata).toHaveLength(3);
  });

  it('slows calls down, and a call slower than its timeout fails with 10001', async () => {
    sim.injectFault({ op: 'chatdata', kind: 'delay', ms: 300 });
    const t0 = Date.now();
    await sdk.getChatData(chatReq(0n, 1));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    // a call that waited for the slow answer would succeed: 10001 is the 1 s timeout's
    sim.injectFault({ op: 'chatdata', kind: 'delay', ms: 2500 });
    const err = await sdkError(sdk.getChatData(chatReq(0n, 1, 1)));
    expect(err.wecomCode).toBe(10001);
  });

  it('turns a truncated answer into 10002 and a dropped connection into 10001', async () => {
    sim.injectFault('chatdata:truncate');
    expect((await sdkError(sdk.getChatData(chatReq(0n, 10)))).wecomCode).toBe(10002);
    sim.injectFault('media:truncate');
    const id = sim.sim.media.sdkFileId('dat', 0, 0, 0);
    expect((await sdkError(sdk.getMediaData({ indexBuf: '', sdkFileId: id, proxy: '', passwd: '', timeoutS: 5 }))).wecomCode).toBe(10002);
    sim.injectFault('chatdata:disconnect');
    expect((await sdkError(sdk.getChatData(chatReq(0n, 10)))).wecomCode).toBe(10001);
    // the backend recovers on the next call
    expect(parseChatData(await sdk.getChatData(chatReq(0n, 10))).chatdata).toHaveLength(10);
  });

  it('corrupts a media chunk so the md5 no longer matches', async () => {
    const id = sim.sim.media.sdkFileId('dat', 1, 5, 0);
    const good = await download(sdk, id);
    sim.injectFault('media:corrupt');
    const bad = await download(sdk, id);
    expect(bad.bytes.length).toBe(good.bytes.length);
    expect(bad.bytes.equals(good.bytes)).toBe(false);
  });

  it('takes faults from the control API', async () => {
    const res = await fetch(`${sim.url}/control/faults`, { method: 'POST', body: JSON.stringify({ spec: 'chatdata:10003x1' }) });
    expect(res.status).toBe(200);
    expect((await sdkError(sdk.getChatData(chatReq(0n, 1)))).wecomCode).toBe(10003);
    await fetch(`${sim.url}/control/faults`, { method: 'POST', body: JSON.stringify({ op: 'chatdata', kind: 'sdk-code', code: 10010, count: '*' }) });
    expect((await sdkError(sdk.getChatData(chatReq(0n, 1)))).wecomCode).toBe(10010);
    expect((await sdkError(sdk.getChatData(chatReq(0n, 1)))).wecomCode).toBe(10010);
    await fetch(`${sim.url}/control/faults`, { method: 'DELETE' });
    await sdk.getChatData(chatReq(0n, 1));
  });
});

describe('backend edge cases', () => {
  it('reports an unreachable simulator as 10001', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const dead = createSimulatorBackend({ url: `http://127.0.0.1:${port}`, corpid: 'ww1', secret: 's' });
    const err = await sdkError(dead.getChatData(chatReq(0n)));
    expect(err.wecomCode).toBe(10001);
    expect(err.message).toContain('ECONNREFUSED');
    await dead.close();
  });

  describe('against a misbehaving server', () => {
    let server: Server;
    let url: string;
    let answer: (res: import('node:http').ServerResponse) => void;

    beforeAll(async () => {
      server = createServer((_req, res) => answer(res));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    });

    it('turns garbage, a missing code, a cut body and a non-simulator into SDK codes', async () => {
      const backend = createSimulatorBackend({ url, corpid: 'ww1', secret: 's' });
      try {
        const cases: Array<[string, (res: import('node:http').ServerResponse) => void, number]> = [
          ['no x-sdk-ret', (res) => res.writeHead(200).end('{}'), 10002],
          [
            'body shorter than announced',
            (res) => {
              res.writeHead(200, { 'x-sdk-ret': '0', 'x-sdk-length': '100', 'content-length': '100' });
              res.write('{"errcode":0');
              setTimeout(() => res.socket?.destroy(), 20);
            },
            10002,
          ],
          ['HTTP 404', (res) => res.writeHead(404).end('not here'), 10001],
          ['an SDK code with detail', (res) => res.writeHead(200, { 'x-sdk-ret': '10011' }).end('{"ret":10011,"detail":"certificate"}'), 10011],
        ];
        for (const [what, reply, code] of cases) {
          answer = reply;
          expect((await sdkError(backend.getChatData(chatReq(0n)))).wecomCode, what).toBe(code);
        }
        // Chat data is the Slice's text as is; parsing it (and refusing garbage with 10002) is the
        // pull stage's job (src/pull/chat-data-page.ts).
        answer = (res) => res.writeHead(200, { 'x-sdk-ret': '0', 'x-sdk-length': '9' }).end('{"errcode');
        expect(await backend.getChatData(chatReq(0n))).toBe('{"errcode');
        answer = (res) => res.writeHead(200, { 'x-sdk-ret': '0', 'x-sdk-length': '3' }).end('abc');
        expect((await sdkError(backend.getMediaData({ indexBuf: '', sdkFileId: 'x', proxy: '', passwd: '', timeoutS: 5 }))).wecomCode).toBe(10002);
      } finally {
        await backend.close();
      }
    });

    it('honours an AbortSignal', async () => {
      const backend = createSimulatorBackend({ url, corpid: 'ww1', secret: 's' });
      answer = () => undefined; // never answers
      const ac = new AbortController();
      const pending = backend.getChatData(chatReq(0n, 1000, 30), ac.signal);
      setTimeout(() => ac.abort(), 50);
      // the server never answers: without the abort the call would end in its 30 s timeout, as 10001
      const err = await pending.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as Error).name).toBe('AbortError');
      await expect(backend.getChatData(chatReq(0n), ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
      await backend.close();
    });
  });

  it('refuses calls after close(), which is idempotent', async () => {
    const b = createSimulatorBackend({ url: sim.url, corpid: sim.corp.corpid, secret: sim.corp.secret });
    await b.close();
    await b.close();
    await expect(b.getChatData(chatReq(0n))).rejects.toBeInstanceOf(ArchiveError);
    await expect(b.decryptData(Buffer.alloc(32), 'AAAA')).rejects.toMatchObject({ code: 'SDK_CLOSED' });
  });
});
