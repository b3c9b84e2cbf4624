import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openEnvelope, parseChatData, parseMessage, type ChatDataDocument } from '../../../test/support/chat-data.ts';
import { MEDIA_CHUNK_MAX } from '../../sdk/backend.ts';
import { Simulator, type SdkResult } from './simulator.ts';

const NOW = Date.UTC(2025, 2, 1, 9, 0, 0);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function ok<T>(r: SdkResult<T>): T {
  if (!('value' in r)) throw new Error(`SDK call failed with ${r.ret}: ${r.detail}`);
  return r.value;
}

function page(sim: Simulator, seq: bigint, limit = 1000): ChatDataDocument {
  return parseChatData(ok(sim.getChatData(seq, limit)));
}

function create(opts: Parameters<typeof Simulator.create>[0] = {}): Promise<Simulator> {
  return Simulator.create({ seed: 'rules', messages: 50, now: NOW, freezeClock: true, ...opts });
}

describe('GetChatData seq rules', () => {
  it('returns messages after the given seq, at most limit, seq = seqStart + index', async () => {
    const sim = await create({ messages: 30 });
    const all = page(sim, 0n);
    expect(all.errcode).toBe(0);
    expect(all.errmsg).toBe('ok');
    expect(all.chatdata.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i + 1)));
    expect(page(sim, 0n, 7).chatdata.map((e) => e.seq)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(page(sim, 7n, 5).chatdata.map((e) => e.seq)).toEqual([8n, 9n, 10n, 11n, 12n]);
    expect(page(sim, 30n).chatdata).toEqual([]);
    expect(page(sim, 12345n).chatdata).toEqual([]);
    expect(all.chatdata.map((e) => e.msgid)).toEqual(Array.from({ length: 30 }, (_, i) => sim.msgidOf(i)));
  });

  it('refuses limit outside 1–1000 with SDK code 10000', async () => {
    const sim = await create();
    for (const limit of [0, -1, 1001, 1.5, Number.NaN]) expect(sim.getChatData(0n, limit).ret, `limit ${limit}`).toBe(10000);
    expect(sim.getChatData(0n, 1000).ret).toBe(0);
    expect(sim.getChatData(0n, 1).ret).toBe(0);
  });

  it('keeps seq exact above 2^53', async () => {
    const seqStart = 2n ** 53n + 12_345n;
    const sim = await create({ seqStart, messages: 20 });
    const text = ok(sim.getChatData(0n, 1000));
    expect(text).toContain(`"seq":${seqStart + 19n},`);
    const seqs = parseChatData(text).chatdata.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => seqStart + BigInt(i)));
    // a cursor in the middle, where doubles cannot tell neighbours apart
    expect(page(sim, seqStart + 9n, 2).chatdata.map((e) => e.seq)).toEqual([seqStart + 10n, seqStart + 11n]);
    expect(page(sim, seqStart - 1n, 1).chatdata.map((e) => e.seq)).toEqual([seqStart]);
  });

  it('serves up to seq 2^64-1 and no further', async () => {
    const max = 2n ** 64n - 1n;
    const sim = await create({ seqStart: max - 49n, messages: 50 });
    const seqs = page(sim, 0n).chatdata.map((e) => e.seq);
    expect(seqs[seqs.length - 1]).toBe(max);
    expect(page(sim, max - 1n).chatdata.map((e) => e.seq)).toEqual([max]);
    expect(page(sim, max).chatdata).toEqual([]);
    expect(sim.getChatData(max + 1n, 10).ret).toBe(10000);
    expect(() => sim.appendGenerated(1)).toThrow(/2\^64-1/);
  });

  it('returns byte-identical envelopes when the same seq is fetched again', async () => {
    const sim = await create();
    expect(ok(sim.getChatData(10n, 20))).toBe(ok(sim.getChatData(10n, 20)));
  });
});

describe('the 5-day window', () => {
  it('skips silently from an old cursor to the oldest message still kept', async () => {
    // 100 messages over the last 2 days; after 4 more days the older half has expired
    const sim = await create({ messages: 100, spanMs: 2 * DAY });
    expect(page(sim, 0n).chatdata).toHaveLength(100);
    sim.advanceClock(4 * DAY);
    const start = sim.windowStartIndex();
    expect(start).toBeGreaterThan(40);
    expect(start).toBeLessThan(60);
    expect(sim.arrivalOf(start)).toBeGreaterThanOrEqual(NOW + 4 * DAY - 5 * DAY);
    expect(sim.arrivalOf(start - 1)).toBeLessThan(NOW + 4 * DAY - 5 * DAY);
    // from 0 and from a cursor inside the expired part: both continue at the window, seq jumps
    expect(page(sim, 0n, 3).chatdata[0]?.seq).toBe(sim.seqOf(start));
    expect(page(sim, sim.seqOf(10), 3).chatdata[0]?.seq).toBe(sim.seqOf(start));
    // a cursor inside the window is honoured
    expect(page(sim, sim.seqOf(start + 5), 1).chatdata[0]?.seq).toBe(sim.seqOf(start + 6));
    expect(sim.state().firstSeq).toBe(sim.seqOf(start).toString());
    sim.advanceClock(3 * DAY);
    expect(page(sim, 0n).chatdata).toEqual([]);
  });

  it('produces new messages over time at --rate, newest msgtime ≈ now', async () => {
    const sim = await create({ messages: 10, rate: 20 });
    expect(sim.messageCount()).toBe(10);
    sim.advanceClock(1_000);
    expect(sim.messageCount()).toBe(30);
    sim.advanceClock(500);
    expect(sim.messageCount()).toBe(40);
    const newest = parseMessage(sim.plaintextOf(39));
    expect(NOW + 1_500 - Number(newest.msgtime ?? newest.time)).toBeLessThan(2_000);
    expect(page(sim, sim.seqOf(9)).chatdata).toHaveLength(30);
    // appending in the middle of a rate keeps seq order and the rate
    const r = sim.appendGenerated(5);
    expect(r).toEqual({ first: 40, count: 5 });
    sim.advanceClock(100);
    expect(sim.messageCount()).toBe(47);
    for (let i = 1; i < 47; i++) expect(sim.arrivalOf(i)).toBeGreaterThanOrEqual(sim.arrivalOf(i - 1));
  });

  it('appends generated messages that arrive now', async () => {
    const sim = await create({ messages: 5 });
    sim.advanceClock(HOUR);
    sim.appendGenerated(3);
    expect(sim.messageCount()).toBe(8);
    expect(sim.arrivalOf(7)).toBe(NOW + HOUR);
    expect(sim.arrivalOf(5)).toBeGreaterThanOrEqual(NOW + HOUR - 20);
  });
});

describe('keys', () => {
  it('encrypts by the key schedule and every envelope opens with the right private key', async () => {
    const sim = await create({ messages: 40, keySchedule: '1:0,2:25' });
    const envelopes = page(sim, 0n).chatdata;
    expect(envelopes.map((e) => e.publickey_ver)).toEqual([...Array(25).fill(1), ...Array(15).fill(2)]);
    const keys = sim.privateKeys();
    expect([...keys.keys()]).toEqual([1, 2]);
    envelopes.forEach((e, i) => expect(openEnvelope(e, keys).equals(sim.plaintextOf(i))).toBe(true));
  });

  it('rotates to a new version from the next message', async () => {
    const sim = await create({ messages: 10 });
    expect(await sim.rotateKey()).toEqual({ version: 2, fromIndex: 10 });
    sim.appendGenerated(2);
    const vers = page(sim, 0n).chatdata.map((e) => e.publickey_ver);
    expect(vers.slice(9)).toEqual([1, 2, 2]);
    expect(openEnvelope(page(sim, 11n).chatdata[0] as never, sim.privateKeys()).equals(sim.plaintextOf(11))).toBe(true);
  });
});

describe('fixtures', () => {
  it('serves the given plaintext lines in order, byte for byte', async () => {
    const lines = [
      '{"msgid":"fx-1","action":"send","from":"zhangsan","tolist":["lisi"],"roomid":"","msgtime":1603875610000,"msgtype":"text","text":{"content":"raw\u0001control"}}',
      '{"msgid":"125289002219525886280","action":"switch","time":1554119421840,"user":"XuJinShe"}',
      'not json at all',
    ];
    const sim = await create({ messages: undefined, fixtures: lines });
    const envs = page(sim, 0n).chatdata;
    expect(envs.map((e) => e.msgid)).toEqual(['fx-1', '125289002219525886280', 'fixture_2']);
    envs.forEach((e, i) => expect(openEnvelope(e, sim.privateKeys()).toString('utf8')).toBe(lines[i]));
    sim.appendFixtures(['{"msgid":"fx-4"}']);
    expect(page(sim, 3n).chatdata.map((e) => e.msgid)).toEqual(['fx-4']);
  });
});

describe('GetMediaData', () => {
  it('serves a file in chunks of at most 512 KB with Range tokens, md5 matching', async () => {
    const sim = await create({ messages: 2000 });
    const files = Array.from({ length: 2000 }, (_, i) => parseMessage(sim.plaintextOf(i)))
      .filter((d) => d.msgtype === 'file' || d.msgtype === 'video')
      .map((d) => (d.file ?? d.video) as { sdkfileid: string; md5sum: string; filesize: number })
      .filter((f) => f.filesize > 2 * MEDIA_CHUNK_MAX && f.md5sum !== '');
    const f = files[0];
    if (!f) throw new Error('no large file among 2000 messages');
    const chunks: Buffer[] = [];
    const tokens: string[] = [];
    let index = '';
    for (;;) {
      const chunk = ok(sim.getMediaData(f.sdkfileid, index));
      expect(chunk.data.length).toBeLessThanOrEqual(MEDIA_CHUNK_MAX);
      chunks.push(chunk.data);
      if (chunk.isFinish) break;
      tokens.push(chunk.outIndex);
      index = chunk.outIndex;
    }
    expect(tokens[0]).toBe('Range:bytes=524288-1048575');
    expect(tokens.every((t) => /^Range:bytes=\d+-\d+$/.test(t))).toBe(true);
    const whole = Buffer.concat(chunks);
    expect(whole.length).toBe(f.filesize);
    expect(whole.includes(0)).toBe(true);
    expect(createHash('md5').update(whole).digest('hex')).toBe(f.md5sum);
    expect(sim.getMediaData(f.sdkfileid, 'Range:bytes=x').ret).toBe(10000);
    expect(sim.getMediaData(`${f.sdkfileid.slice(0, -4)}AAAA`, '').ret).toBe(10005);
    expect(sim.getMediaData('CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAw', '').ret).toBe(10005);
  });
});

describe('corp authentication', () => {
  it('accepts only its corpid and secret (else 10004)', async () => {
    const sim = await create({ corpid: 'ww0123456789abcdef', secret: 'the-secret-0123456789' });
    expect(sim.checkCorp('ww0123456789abcdef', 'the-secret-0123456789')).toBe(0);
    expect(sim.checkCorp('ww0123456789abcdef', 'wrong')).toBe(10004);
    expect(sim.checkCorp('wwffffffffffffffff', 'the-secret-0123456789')).toBe(10004);
    expect(sim.checkCorp(undefined, undefined)).toBe(10004);
    expect(JSON.stringify(sim.state())).not.toContain('the-secret');
  });
});
