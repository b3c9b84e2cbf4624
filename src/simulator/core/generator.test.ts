import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { messageTypeOf, parseMessage } from '../../../test/support/chat-data.ts';
import { messageTypes } from './message-types.ts';
import { Simulator } from './simulator.ts';

const NOW = Date.UTC(2025, 2, 1, 9, 0, 0);
const COUNT = 2000;

/** where each type's body lives, as WeCom's official message format reference spells it */
const BODY_KEY: Record<string, string> = {
  text: 'text',
  image: 'image',
  revoke: 'revoke',
  agree: 'agree',
  disagree: 'disagree',
  voice: 'voice',
  video: 'video',
  card: 'card',
  location: 'location',
  emotion: 'emotion',
  file: 'file',
  link: 'link',
  weapp: 'weapp',
  chatrecord: 'chatrecord',
  todo: 'todo',
  vote: 'vote',
  collect: 'collect',
  redpacket: 'redpacket',
  meeting: 'meeting',
  meeting_notification: 'info',
  docmsg: 'doc',
  markdown: 'info',
  news: 'info',
  calendar: 'calendar',
  mixed: 'mixed',
  meeting_voice_call: 'meeting_voice_call',
  voip_doc_share: 'voip_doc_share',
  external_redpacket: 'redpacket',
  sphfeed: 'sphfeed',
  voiptext: 'info',
  qydiskfile: 'info',
};

let sim: Simulator;
let plaintexts: Buffer[];
let docs: Array<Record<string, unknown>>;

beforeAll(async () => {
  sim = await Simulator.create({ seed: 'generator-test', messages: COUNT, now: NOW, freezeClock: true });
  plaintexts = Array.from({ length: COUNT }, (_, i) => sim.plaintextOf(i));
  docs = plaintexts.map((p) => parseMessage(p));
});

function ofType(type: string): Array<Record<string, unknown>> {
  return docs.filter((d) => messageTypeOf(d) === type);
}

describe('generated messages', () => {
  it('lists every message type of the official reference', () => {
    expect([...messageTypes].sort()).toEqual(Object.keys(BODY_KEY).concat('switch').sort());
  });

  it('contains every message type within 2,000 messages', () => {
    const seen = new Set(docs.map(messageTypeOf));
    for (const type of messageTypes) expect(seen, type).toContain(type);
  });

  it('nests each body under the key the reference uses, with the common fields', () => {
    for (const d of docs) {
      const type = messageTypeOf(d);
      if (type === 'switch') {
        expect(Object.keys(d)).toEqual(['msgid', 'action', 'time', 'user']);
        expect(typeof d.time).toBe('number');
        continue;
      }
      const key = BODY_KEY[type] as string;
      expect(d[key], `${type} body under "${key}"`).toBeTypeOf('object');
      expect(d.msgid).toBeTypeOf('string');
      expect(d.from).toBeTypeOf('string');
      expect(Array.isArray(d.tolist)).toBe(true);
      expect(d.msgtime).toBeTypeOf('number');
      expect(d.action).toBe(type === 'revoke' ? 'recall' : 'send');
    }
    expect(ofType('meeting_voice_call').every((d) => typeof d.voiceid === 'string')).toBe(true);
    expect(ofType('voip_doc_share').every((d) => typeof d.voipid === 'string')).toBe(true);
    expect(ofType('agree').every((d) => typeof (d.agree as Record<string, unknown>).agree_time === 'number')).toBe(true);
    expect(ofType('disagree').every((d) => typeof (d.disagree as Record<string, unknown>).disagree_time === 'number')).toBe(true);
  });

  it('uses the id shapes of the docs: wr rooms, wb robots, wm/wo external contacts', () => {
    const rooms = docs.map((d) => d.roomid).filter((r): r is string => typeof r === 'string' && r !== '');
    expect(rooms.length).toBeGreaterThan(100);
    expect(rooms.every((r) => /^wr[\w-]{30}$/.test(r))).toBe(true);
    const robotSenders = [...ofType('markdown'), ...ofType('news')].map((d) => d.from as string);
    expect(robotSenders.every((f) => f.startsWith('wb'))).toBe(true);
    expect(ofType('agree').every((d) => /^w[mo]/.test(d.from as string))).toBe(true);
    expect(docs.some((d) => d.from === 'zhangsan' || (d.tolist as string[] | undefined)?.includes('zhangsan'))).toBe(true);
  });

  it('gives every message a unique msgid, some ending in _external or _updown_stream', () => {
    const ids = docs.map((d) => d.msgid as string);
    expect(new Set(ids).size).toBe(COUNT);
    expect(ids.some((id) => id.endsWith('_external'))).toBe(true);
    expect(ids.some((id) => id.endsWith('_updown_stream'))).toBe(true);
    expect(ids.every((id, i) => id === sim.msgidOf(i))).toBe(true);
  });

  it('points each revoke at an earlier message', () => {
    const indexOf = new Map(docs.map((d, i) => [d.msgid as string, i]));
    const revokes = docs.map((d, i) => [d, i] as const).filter(([d]) => messageTypeOf(d) === 'revoke');
    expect(revokes.length).toBeGreaterThan(5);
    for (const [d, i] of revokes) {
      const target = indexOf.get((d.revoke as { pre_msgid: string }).pre_msgid);
      expect(target).toBeDefined();
      expect(target as number).toBeLessThan(i);
      expect(docs[target as number]?.from).toBe(d.from);
    }
  });

  it('leaves raw control characters inside some text, which plain JSON.parse refuses', () => {
    const raw = plaintexts.filter((p) => p.some((b) => b < 0x20));
    expect(raw.length).toBeGreaterThan(5);
    for (const p of raw) expect(() => JSON.parse(p.toString('utf8'))).toThrow();
    expect(raw.some((p) => p.includes(0x01) || p.includes(0x11) || p.includes(0x12) || p.includes(0x13) || p.includes(0x14))).toBe(true);
    // everything else is strict JSON
    for (const p of plaintexts) if (!p.some((b) => b < 0x20)) JSON.parse(p.toString('utf8'));
  });

  it('writes uint64 meeting ids as bare integers that a double cannot hold', () => {
    const meetings = ofType('meeting');
    expect(meetings.length).toBeGreaterThan(0);
    for (const d of meetings) {
      const id = (d.meeting as { meetingid: bigint }).meetingid;
      expect(typeof id).toBe('bigint');
      expect(id > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
      const text = plaintexts[docs.indexOf(d)]?.toString('utf8') ?? '';
      expect(text).toContain(`"meetingid":${id}`);
      expect(BigInt(Math.round(Number(JSON.parse(text.replace(/[\u0000-\u001f]/g, ' ')).meeting.meetingid)))).not.toBe(id);
    }
    for (const d of ofType('meeting_notification')) expect(typeof (d.info as { meeting_id: unknown }).meeting_id).toBe('bigint');
  });

  it('writes quote/reply texts in the forms WeCom clients write them', () => {
    const texts = ofType('text').map((d) => (d.text as { content: string }).content);
    const zh = /^这是一条引用\/回复消息：\n["“](?<user>[^\n]+)：\n(?<quote>.*?)["”]\n-{6}\n(?<content>.*)$/s;
    const en = /^This is a quote\/reply:\n"(?<user>[^\n]+):\n(?<quote>.*?)"\n-{6}\n(?<content>.*)$/s;
    const wechat = /^「(?<user>[^\n]+?)：(?<quote>.*?)」\n-( -){14}\n(?<content>.+)$/s;
    expect(texts.some((t) => zh.test(t))).toBe(true);
    expect(texts.some((t) => en.test(t))).toBe(true);
    expect(texts.some((t) => wechat.test(t))).toBe(true);
    expect(texts.some((t) => /[\u4e00-\u9fff]/.test(t))).toBe(true);
    expect(texts.some((t) => /^[\x20-\x7e👍]+$/u.test(t))).toBe(true);
  });

  it('refers to media whose size and md5 match the bytes served', () => {
    const refs: Array<{ sdkfileid: string; md5sum: string; size: number; type: string }> = [];
    for (const d of docs) {
      const type = messageTypeOf(d);
      const body = d[BODY_KEY[type] ?? ''] as Record<string, unknown> | undefined;
      if (body && typeof body.sdkfileid === 'string' && typeof body.md5sum === 'string') {
        refs.push({ sdkfileid: body.sdkfileid, md5sum: body.md5sum, size: Number(body.filesize ?? body.voice_size ?? body.imagesize), type });
      }
    }
    expect(refs.some((r) => r.md5sum === '')).toBe(true);
    expect(new Set(refs.map((r) => r.sdkfileid)).size).toBe(refs.length);
    const checked = new Set<string>();
    for (const r of refs) {
      const ref = sim.media.resolve(r.sdkfileid);
      expect(ref, r.type).toBeDefined();
      const { kind, blob } = ref as NonNullable<typeof ref>;
      expect(sim.media.size(kind, blob)).toBe(r.size);
      if (r.md5sum === '' || checked.has(`${kind}:${blob}`)) continue;
      checked.add(`${kind}:${blob}`);
      expect(
        createHash('md5')
          .update(sim.media.read(kind, blob, 0, r.size))
          .digest('hex'),
      ).toBe(r.md5sum);
    }
    const sizes = (type: string): number[] => refs.filter((r) => r.type === type).map((r) => r.size);
    expect(Math.max(...sizes('voice'))).toBeLessThanOrEqual(40_000);
    expect(Math.min(...sizes('video'))).toBeGreaterThanOrEqual(900_000);
    expect(Math.min(...sizes('image'))).toBeGreaterThanOrEqual(8_000);
  });

  it('is deterministic: same seed and clock → same bytes, another seed → other bytes', async () => {
    const again = await Simulator.create({ seed: 'generator-test', messages: COUNT, now: NOW, freezeClock: true });
    // ask in reverse order: message i must not depend on what was generated before it
    for (let i = COUNT - 1; i >= 0; i--) expect(again.plaintextOf(i).equals(plaintexts[i] as Buffer), `message ${i}`).toBe(true);
    const other = await Simulator.create({ seed: 'another-seed', messages: COUNT, now: NOW, freezeClock: true });
    let same = 0;
    for (let i = 0; i < COUNT; i++) if (other.plaintextOf(i).equals(plaintexts[i] as Buffer)) same++;
    expect(same).toBe(0);
  });

  it('spreads the initial messages over the span, newest at now, msgtime close to arrival', () => {
    const first = docs[0] as Record<string, unknown>;
    const last = docs[COUNT - 1] as Record<string, unknown>;
    const time = (d: Record<string, unknown>): number => Number(d.msgtime ?? d.time);
    expect(time(first)).toBeLessThan(NOW - 23 * 3_600_000);
    expect(NOW - time(last)).toBeLessThan(2_000);
    for (let i = 0; i < COUNT; i++) expect(Math.abs(time(docs[i] as Record<string, unknown>) - sim.arrivalOf(i))).toBeLessThan(2_000);
  });
});
