import { describe, expect, it } from 'vitest';
import { DECRYPT_MANY_MAX, MAX_RESULT_BYTES, parseFromHost, parseToHost } from './host-protocol.ts';

describe('messages from an SDK host (untrusted)', () => {
  const ok = { t: 'result', id: 3, rss: 90_000_000, ok: true, data: new Uint8Array([0, 1, 0]), outIndex: 'Range:bytes=0-2', isFinish: false };

  it('accepts well-formed answers as they are, binary data included', () => {
    expect(parseFromHost(ok)).toEqual(ok);
    expect(parseFromHost({ t: 'result', id: 3, rss: 1, ok: false, code: 10009, detail: '' })).toEqual({ t: 'result', id: 3, rss: 1, ok: false, code: 10009, detail: '' });
    expect(parseFromHost({ t: 'ready', rss: 1, pid: 42 })).toEqual({ t: 'ready', rss: 1, pid: 42 });
    expect(parseFromHost({ t: 'init-failed', stage: 'symbols', code: null, message: 'x', missing: ['GetData'] })).toMatchObject({ stage: 'symbols', missing: ['GetData'] });
  });

  it('accepts the answers of several DecryptData calls, each a plaintext or an SDK code', () => {
    const many = {
      ...ok,
      data: new Uint8Array(0),
      items: [
        { ok: true, data: new Uint8Array([123, 0, 125]) },
        { ok: false, code: 10006, detail: 'bad' },
      ],
    };
    expect(parseFromHost(many)).toEqual(many);
    expect(parseFromHost({ ...ok, items: [] })).toEqual({ ...ok, items: [] });
  });

  it('refuses answers of several calls with any answer that is not one', () => {
    for (const items of [
      'x',
      {},
      [null],
      [{ ok: true, data: 'text' }],
      [{ ok: true }],
      [{ ok: false, code: '10006', detail: '' }],
      [{ ok: false, code: 10006 }],
      [{ ok: 'no', data: new Uint8Array(1) }],
      Array.from({ length: DECRYPT_MANY_MAX + 1 }, () => ({ ok: true, data: new Uint8Array(1) })),
      [
        { ok: true, data: { length: MAX_RESULT_BYTES } },
        { ok: true, data: { length: 1 } },
      ],
    ])
      expect(parseFromHost({ ...ok, items }), JSON.stringify(items).slice(0, 100)).toBeUndefined();
  });

  it('refuses anything else', () => {
    for (const bad of [
      null,
      'result',
      [],
      {},
      { t: 'nope' },
      { ...ok, id: -1 },
      { ...ok, id: 1.5 },
      { ...ok, rss: Number.NaN },
      { ...ok, rss: '1' },
      { ...ok, ok: 'yes' },
      { ...ok, data: 'text' },
      { ...ok, data: [1, 2] },
      { ...ok, outIndex: 'x'.repeat(5000) },
      { ...ok, isFinish: 1 },
      { ...ok, data: { length: MAX_RESULT_BYTES + 1 } },
      { t: 'result', id: 1, rss: 1, ok: false, code: '10001', detail: '' },
      { t: 'result', id: 1, rss: 1, ok: false, code: 1e12, detail: '' },
      { t: 'init-failed', stage: 'other', code: null, message: '', missing: [] },
      { t: 'init-failed', stage: 'load', code: null, message: '', missing: 'GetData' },
      { t: 'ready', rss: 1 },
    ])
      expect(parseFromHost(bad), JSON.stringify(bad)).toBeUndefined();
  });
});

describe('messages to an SDK host', () => {
  it('keeps seq a bigint and the key binary', () => {
    const call = { t: 'call', id: 1, args: { op: 'chatdata', seq: (1n << 64n) - 1n, limit: 1000, proxy: '', passwd: '', timeoutS: 5 } };
    expect(parseToHost(call)).toEqual(call);
    const decrypt = { t: 'call', id: 2, args: { op: 'decrypt', key: new Uint8Array(32), msg: 'abc' } };
    expect(parseToHost(decrypt)).toEqual(decrypt);
    const many = {
      t: 'call',
      id: 3,
      args: {
        op: 'decrypt-many',
        items: [
          { key: new Uint8Array(32), msg: 'abc' },
          { key: new Uint8Array(32), msg: '' },
        ],
      },
    };
    expect(parseToHost(many)).toEqual(many);
  });

  it('refuses malformed calls', () => {
    for (const bad of [
      { t: 'call', id: 1, args: { op: 'chatdata', seq: 5, limit: 1, proxy: '', passwd: '', timeoutS: 5 } },
      { t: 'call', id: 1, args: { op: 'chatdata', seq: 5n, limit: 1001, proxy: '', passwd: '', timeoutS: 5 } },
      { t: 'call', id: 1, args: { op: 'decrypt', key: 'k', msg: '' } },
      { t: 'call', id: 1, args: { op: 'decrypt-many', items: 'x' } },
      { t: 'call', id: 1, args: { op: 'decrypt-many', items: [{ key: 'k', msg: '' }] } },
      { t: 'call', id: 1, args: { op: 'decrypt-many', items: [{ key: new Uint8Array(32) }] } },
      { t: 'call', id: 1, args: { op: 'decrypt-many', items: Array.from({ length: DECRYPT_MANY_MAX + 1 }, () => ({ key: new Uint8Array(32), msg: '' })) } },
      { t: 'call', id: 1, args: { op: 'media', indexBuf: null, sdkFileId: 'x', proxy: '', passwd: '', timeoutS: 5 } },
      { t: 'call', id: 1, args: { op: 'unknown' } },
      { t: 'init', libPath: '/x.so', corpid: 'ww', secret: 's' },
    ])
      expect(
        parseToHost(bad),
        JSON.stringify(bad, (_, v) => (typeof v === 'bigint' ? String(v) : v)),
      ).toBeUndefined();
  });
});
