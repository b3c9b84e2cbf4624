import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnvelope, parseChatData } from '../../test/support/chat-data.ts';
import { HEADER_LENGTH, HEADER_RET, SDK_ROUTES } from './sdk/wire.ts';
import { startSimulator, type RunningSimulator } from './server.ts';

const NOW = Date.UTC(2025, 2, 1, 9, 0, 0);
let sim: RunningSimulator;

async function control(method: string, name: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}/control/${name}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

async function chatdata(body: Record<string, unknown>): Promise<{ ret: string | null; text: string }> {
  const res = await fetch(`${sim.url}${SDK_ROUTES.chatData}`, { method: 'POST', body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return { ret: res.headers.get(HEADER_RET), text: await res.text() };
}

beforeAll(async () => {
  sim = await startSimulator({ seed: 'server-test', messages: 100, now: NOW, freezeClock: true, seqStart: 2n ** 60n, faults: ['chatdata:10003'] });
});
afterAll(() => sim?.close());

describe('SDK routes', () => {
  it('applies start-up faults, then serves chat data with seq as exact decimal strings', async () => {
    const auth = { corpid: sim.corp.corpid, secret: sim.corp.secret };
    expect((await chatdata({ ...auth, seq: '0', limit: 10 })).ret).toBe('10003');
    const res = await fetch(`${sim.url}${SDK_ROUTES.chatData}`, { method: 'POST', body: JSON.stringify({ ...auth, seq: (2n ** 60n + 4n).toString(), limit: 2 }) });
    const text = await res.text();
    expect(res.headers.get(HEADER_RET)).toBe('0');
    expect(res.headers.get(HEADER_LENGTH)).toBe(String(Buffer.byteLength(text)));
    expect(parseChatData(text).chatdata.map((e) => e.seq)).toEqual([2n ** 60n + 5n, 2n ** 60n + 6n]);
  });

  it('answers bad arguments with 10000 and bad credentials with 10004', async () => {
    const auth = { corpid: sim.corp.corpid, secret: sim.corp.secret };
    expect((await chatdata({ ...auth, seq: 0, limit: 10 })).ret).toBe('10000');
    expect((await chatdata({ ...auth, seq: '18446744073709551616', limit: 10 })).ret).toBe('10000');
    expect((await chatdata({ ...auth, seq: '0', limit: '10' })).ret).toBe('10000');
    expect((await chatdata({ ...auth, secret: 'nope', seq: '0', limit: 10 })).ret).toBe('10004');
    const garbage = await fetch(`${sim.url}${SDK_ROUTES.chatData}`, { method: 'POST', body: '{not json' });
    expect(garbage.headers.get(HEADER_RET)).toBe('10000');
    expect((await fetch(`${sim.url}${SDK_ROUTES.chatData}`)).status).toBe(405);
    expect((await fetch(`${sim.url}/nope`)).status).toBe(404);
  });
});

describe('control API', () => {
  it('reports state without secrets', async () => {
    const { status, json } = await control('GET', 'state');
    expect(status).toBe(200);
    expect(json).toMatchObject({
      corpid: sim.corp.corpid,
      messages: 100,
      seqStart: (2n ** 60n).toString(),
      firstSeq: (2n ** 60n).toString(),
      lastSeq: (2n ** 60n + 99n).toString(),
    });
    const all = JSON.stringify(json) + JSON.stringify((await control('GET', '../')).json);
    expect(all).not.toContain(sim.corp.secret);
    expect(all).not.toContain('PRIVATE KEY');
  });

  it('advances the clock, which moves the window', async () => {
    const { json } = await control('POST', 'clock', { advanceMs: 4.5 * 24 * 3_600_000 });
    expect(json.now).toBe(NOW + 4.5 * 24 * 3_600_000);
    expect(json.windowStartIndex).toBeGreaterThan(0);
    expect((await control('POST', 'clock', { advanceMs: -1 })).status).toBe(400);
    expect((await control('POST', 'clock', {})).status).toBe(400);
  });

  it('appends generated messages and fixtures, changes the rate', async () => {
    const gen = await control('POST', 'messages', { generate: 5 });
    expect(gen.json).toMatchObject({ first: 100, count: 5, firstSeq: (2n ** 60n + 100n).toString() });
    const fx = await control('POST', 'messages', { fixtures: ['{"msgid":"from-control","action":"send","msgtype":"text","text":{"content":"hi\u0001"}}'] });
    expect(fx.json).toMatchObject({ first: 105, count: 1 });
    expect(sim.plaintextOf(105).toString('utf8')).toBe('{"msgid":"from-control","action":"send","msgtype":"text","text":{"content":"hi\u0001"}}');
    const auth = { corpid: sim.corp.corpid, secret: sim.corp.secret };
    const page = parseChatData((await chatdata({ ...auth, seq: (2n ** 60n + 104n).toString(), limit: 10 })).text);
    expect(page.chatdata.map((e) => e.msgid)).toEqual(['from-control']);
    expect(openEnvelope(page.chatdata[0] as never, sim.privateKeys).equals(sim.plaintextOf(105))).toBe(true);
    expect((await control('POST', 'rate', { perSecond: 10 })).json).toMatchObject({ rate: 10 });
    await control('POST', 'clock', { advanceMs: 1000 });
    expect(sim.state().messages).toBe(116);
    expect((await control('POST', 'rate', { perSecond: 0 })).json).toMatchObject({ rate: 0, messages: 116 });
    expect((await control('POST', 'messages', { generate: -1 })).status).toBe(400);
    expect((await control('POST', 'messages', { fixtures: [1] })).status).toBe(400);
  });

  it('rotates keys without handing out the private key', async () => {
    const { json } = await control('POST', 'keys', {});
    expect(json).toEqual({ version: 2, fromIndex: 116 });
    expect(sim.privateKeys.has(2)).toBe(true);
    expect((await control('POST', 'keys', { version: 2 })).status).toBe(400);
  });

  it('validates faults', async () => {
    const bad = await control('POST', 'faults', { op: 'chatdata', kind: 'sdk-code', code: 99 });
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/SDK return code/);
    expect((await control('POST', 'faults', [{ spec: 'media:10001' }, { op: 'any', kind: 'delay', ms: 1 }])).json).toEqual({ queued: 2 });
    expect((await control('DELETE', 'faults')).json).toEqual({ queued: 0 });
  });
});
