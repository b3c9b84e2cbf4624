import { expect, it } from 'vitest';
import { encodeSeq } from '../store/seq-codec.ts';
import { dedupIdOf, messageEvents, subjectOf } from './event-payloads.ts';
import { subjectCovers } from './event-sinks.ts';
import { signWebhook, verifyWebhook } from './webhook-signature.ts';

const message = (msgid: string, seq: bigint, msgtype: string, pre?: string) => ({
  msgid,
  seq: encodeSeq(seq),
  action: 'send',
  from_id: 'zhangsan',
  roomid: '',
  msgtime: 1700000000000,
  msgtype,
  conversation_key: 'pair:a|b',
  pre_msgid: pre ?? null,
});

it('message events come in seq order, a recall adds a recall event, seqs stay exact past 2^53', () => {
  const events = messageEvents([message('m2', 9007199254740993n, 'revoke', 'm1'), message('m1', 5n, 'text')]);
  expect(events.map((e) => [e.kind, e.ref])).toEqual([
    ['message', 'm1'],
    ['message', 'm2'],
    ['recall', 'm2'],
  ]);
  expect(events[1]!.payload.seq).toBe('9007199254740993');
  expect(events[2]!.payload.recalled_msgid).toBe('m1');
});

it('subjects keep hostile text inside one token; dedup ids follow the documented forms', () => {
  const at = (kind: 'message' | 'recall' | 'media_done' | 'directory_change', payload: object) => ({ corpid: 'ww1', kind, ref: 'r', payload: JSON.stringify(payload) });
  expect(subjectOf(at('message', { msgtype: 'text' }))).toBe('wecom.ww1.message.text');
  expect(subjectOf(at('message', { msgtype: 'a.b >*' }))).toBe('wecom.ww1.message.a_b___');
  expect(subjectOf(at('message', {}))).toBe('wecom.ww1.message._');
  expect(subjectOf(at('recall', {}))).toBe('wecom.ww1.recall');
  expect(subjectOf(at('media_done', {}))).toBe('wecom.ww1.media.done');
  expect(subjectOf(at('directory_change', { entity: 'member', field: 'name' }))).toBe('wecom.ww1.directory.member.name');
  expect(dedupIdOf({ corpid: 'ww1', kind: 'message', ref: 'msg1' })).toBe('ww1/msg1');
  expect(dedupIdOf({ corpid: 'ww1', kind: 'media_done', ref: 'msg1/0' })).toBe('ww1/media_done/msg1/0');
});

it('a stream subject covers a corp when a wildcard or the same subject takes it', () => {
  expect(subjectCovers('wecom.>', 'wecom.ww1.>')).toBe(true);
  expect(subjectCovers('>', 'wecom.ww1.>')).toBe(true);
  expect(subjectCovers('wecom.ww1.>', 'wecom.ww1.>')).toBe(true);
  expect(subjectCovers('wecom.*.>', 'wecom.ww1.>')).toBe(true);
  expect(subjectCovers('wecom.ww2.>', 'wecom.ww1.>')).toBe(false);
  expect(subjectCovers('wecom.ww1.message.*', 'wecom.ww1.>')).toBe(false);
});

it('a webhook signature verifies only with its secret, body and a recent timestamp', () => {
  const secret = Buffer.from('s3cret-s3cret-s3cret');
  const body = '{"id":"ww1/m1"}';
  const sig = signWebhook(secret, 1000, body);
  expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
  expect(verifyWebhook(secret, '1000', sig, body, 1010)).toBe(true);
  expect(verifyWebhook(secret, '1000', sig, body + ' ', 1010)).toBe(false);
  expect(verifyWebhook(Buffer.from('other-secret-other'), '1000', sig, body, 1010)).toBe(false);
  expect(verifyWebhook(secret, '1001', sig, body, 1010)).toBe(false);
  expect(verifyWebhook(secret, '1000', sig, body, 2000)).toBe(false);
  expect(verifyWebhook(secret, undefined, sig, body, 1010)).toBe(false);
});
