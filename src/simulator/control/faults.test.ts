import { describe, expect, it } from 'vitest';
import { FaultInjector, parseFaultSpec, validateFaultSpec } from './faults.ts';

describe('parseFaultSpec', () => {
  it('reads the CLI forms', () => {
    expect(parseFaultSpec('chatdata:10001')).toEqual({ op: 'chatdata', kind: 'sdk-code', code: 10001, count: 1 });
    expect(parseFaultSpec('media:10010x3')).toEqual({ op: 'media', kind: 'sdk-code', code: 10010, count: 3 });
    expect(parseFaultSpec('any:delay=2500x2')).toEqual({ op: 'any', kind: 'delay', ms: 2500, count: 2 });
    expect(parseFaultSpec('chatdata:errcode=301042')).toEqual({ op: 'chatdata', kind: 'errcode', errcode: 301042, errmsg: undefined, count: 1 });
    expect(parseFaultSpec('any:truncate')).toEqual({ op: 'any', kind: 'truncate', count: 1 });
    expect(parseFaultSpec('chatdata:disconnect')).toEqual({ op: 'chatdata', kind: 'disconnect', count: 1 });
    expect(parseFaultSpec('media:corruptx*')).toEqual({ op: 'media', kind: 'corrupt', count: Number.POSITIVE_INFINITY });
  });

  it('explains what is wrong', () => {
    expect(() => parseFaultSpec('chatdata')).toThrow(/OP:WHAT/);
    expect(() => parseFaultSpec('pull:10001')).toThrow(/"op" must be one of/);
    expect(() => parseFaultSpec('chatdata:12345')).toThrow(/SDK return code/);
    expect(() => parseFaultSpec('chatdata:delay=-5')).toThrow(/OP:WHAT|ms/);
    expect(() => parseFaultSpec('media:errcode=301042')).toThrow(/only exists for chatdata/);
    expect(() => parseFaultSpec('chatdata:corrupt')).toThrow(/only exists for media/);
    expect(() => parseFaultSpec('chatdata:10001x0')).toThrow(/count/);
    expect(() => validateFaultSpec({ op: 'chatdata', kind: 'explode' })).toThrow(/"kind" must be/);
    expect(validateFaultSpec({ op: 'media', kind: 'sdk-code', code: 10003, count: '*' })).toMatchObject({ count: Number.POSITIVE_INFINITY });
  });
});

describe('FaultInjector', () => {
  it('applies faults to the next N calls of their operation, in order', () => {
    const f = new FaultInjector();
    f.add({ op: 'chatdata', kind: 'sdk-code', code: 10001, count: 2 });
    f.add({ op: 'any', kind: 'delay', ms: 5 });
    f.add({ op: 'any', kind: 'errcode', errcode: 301042 });
    expect(f.take('media')).toMatchObject({ kind: 'delay' });
    expect(f.take('media')).toBeUndefined(); // the errcode fault does not apply to media
    expect(f.take('chatdata')).toMatchObject({ kind: 'sdk-code', code: 10001 });
    expect(f.take('chatdata')).toMatchObject({ kind: 'sdk-code', code: 10001 });
    expect(f.take('chatdata')).toMatchObject({ kind: 'errcode' });
    expect(f.take('chatdata')).toBeUndefined();
    f.add({ op: 'decrypt', kind: 'truncate', count: Number.POSITIVE_INFINITY });
    for (let i = 0; i < 5; i++) expect(f.take('decrypt')).toMatchObject({ kind: 'truncate' });
    f.clear();
    expect(f.take('decrypt')).toBeUndefined();
  });
});
