import { describe, expect, it } from 'vitest';
import { appendFields } from '../export/export-jsonl.ts';
import { conversationKeyOf, escapeControlCharacters, jsonOnOneLine, normalizeMessage, parseMessageJson } from './normalize-message.ts';

describe('parseMessageJson', () => {
  it('keeps raw control characters inside strings as text', () => {
    const raw = '{"msgid":"m1","msgtype":"text","text":{"content":"a\u0001b\tc\nd\u0013"}}';
    expect(() => JSON.parse(raw)).toThrow();
    const parsed = parseMessageJson(raw) as { text: { content: string } };
    expect(parsed.text.content).toBe('a\u0001b\tc\nd\u0013');
  });

  it('leaves escaped quotes and backslashes alone', () => {
    const raw = '{"a":"x\\"\u0002\\\\","b":"\u0003"}';
    expect(escapeControlCharacters(raw)).toBe('{"a":"x\\"\\u0002\\\\","b":"\\u0003"}');
  });

  it('refuses what is not a JSON object', () => {
    expect(() => parseMessageJson('[1]')).toThrow(/not a JSON object/);
    expect(() => parseMessageJson('{"a":')).toThrow(/not valid JSON/);
  });
});

describe('normalizeMessage', () => {
  it('reads the common columns of a group text', () => {
    const m = normalizeMessage(
      { msgid: 'x', action: 'send', from: 'zhangsan', tolist: ['lisi', 'wmABC'], roomid: 'wrROOM', msgtime: 1700000000123, msgtype: 'text' },
      'abc_external',
    );
    expect(m).toMatchObject({ fromId: 'zhangsan', roomid: 'wrROOM', msgtime: 1700000000123, conversationKey: 'room:wrROOM', isExternal: true, isUpdown: false, knownType: true });
  });

  it('gives a 1:1 chat the same key whichever side speaks', () => {
    expect(conversationKeyOf('', 'b', ['a'])).toBe(conversationKeyOf('', 'a', ['b']));
  });

  it('reads switch records and revoke links, and flags unknown types', () => {
    expect(normalizeMessage({ msgid: 's', action: 'switch', time: 1700000000000, user: 'wangwu' }, 's')).toMatchObject({
      msgtype: 'switch',
      fromId: 'wangwu',
      msgtime: 1700000000000,
      knownType: true,
    });
    expect(normalizeMessage({ action: 'recall', msgtype: 'revoke', from: 'a', tolist: ['b'], msgtime: 1, revoke: { pre_msgid: 'orig' } }, 'r').preMsgid).toBe('orig');
    expect(normalizeMessage({ action: 'send', msgtype: 'hologram', from: 'a', tolist: [], msgtime: 1 }, 'u_updown_stream')).toMatchObject({ knownType: false, isUpdown: true });
  });
});

describe('export line', () => {
  it('extends the raw JSON without touching big integers and keeps it on one line', () => {
    const raw = '{"msgid":"m","meeting":{"meetingid":12345678901234567890123},\n"text":{"content":"line1\nline2"}}';
    const line = appendFields(raw, '"seq":"9007199254740993"');
    expect(line).not.toContain('\n');
    expect(line).toContain('"meetingid":12345678901234567890123');
    expect(line.endsWith(',"seq":"9007199254740993"}')).toBe(true);
    expect(JSON.parse(line).text.content).toBe('line1\nline2');
    expect(appendFields('{ }', '"a":1')).toBe('{"a":1}');
    expect(jsonOnOneLine('{"a":\r\n1}')).toBe('{"a":  1}');
  });
});
