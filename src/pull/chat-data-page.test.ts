import { describe, expect, it } from 'vitest';
import { WeComApiError, WeComSdkError } from '../errors/wecom-codes.ts';
import { parseChatDataPage } from './chat-data-page.ts';

const entry = (seq: string, extra = '') => `{"seq":${seq},"msgid":"m${seq}","publickey_ver":2,"encrypt_random_key":"a2V5","encrypt_chat_msg":"bXNn"${extra}}`;

describe('parseChatDataPage', () => {
  it('reads seq exactly beyond 2^53 and up to 2^64-1', () => {
    const page = parseChatDataPage(`{"errcode":0,"errmsg":"ok","chatdata":[${entry('9007199254740993')},${entry('18446744073709551615')}]}`);
    expect(page.map((e) => e.seq)).toEqual([9007199254740993n, 18446744073709551615n]);
    expect(page[0]).toMatchObject({ msgid: 'm9007199254740993', publickeyVer: 2, encryptRandomKey: 'a2V5', problem: null });
  });

  it('turns a JSON-level errcode into a WeComApiError with the code kept', () => {
    const err = (() => {
      try {
        parseChatDataPage('{"errcode":45009,"errmsg":"api freq out of limit","chatdata":[]}');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(WeComApiError);
    expect((err as WeComApiError).wecomCode).toBe(45009);
    expect((err as Error).message).toMatch(/45009.*frequency/);
  });

  it('treats garbage and truncation as SDK code 10002 (retried)', () => {
    for (const text of ['', '{"errcode":0,"chatdata":[{"seq":1,', 'null', '{"chatdata":{}}', `{"chatdata":[{"seq":"x"}]}`, `{"chatdata":[{"seq":18446744073709551616}]}`]) {
      let caught: unknown;
      try {
        parseChatDataPage(text);
      } catch (e) {
        caught = e;
      }
      expect(caught, text).toBeInstanceOf(WeComSdkError);
      expect((caught as WeComSdkError).wecomCode).toBe(10002);
    }
  });

  it('keeps malformed entries with the problem named instead of dropping them', () => {
    const [bad] = parseChatDataPage('{"chatdata":[{"seq":7,"publickey_ver":"x","encrypt_chat_msg":"bXNn"}]}');
    expect(bad).toMatchObject({ seq: 7n, msgid: 'invalid-msgid:seq:7' });
    expect(bad!.problem).toMatch(/msgid is missing.*publickey_ver.*encrypt_random_key is missing/);
  });

  it('does not mistake a "seq" inside a string for the field', () => {
    const page = parseChatDataPage(`{"chatdata":[{"seq":3,"msgid":"x\\"seq\\":5","publickey_ver":1,"encrypt_random_key":"a","encrypt_chat_msg":"b"}]}`);
    expect(page[0]).toMatchObject({ seq: 3n, msgid: 'x"seq":5' });
  });
});
