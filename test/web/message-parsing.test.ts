/** The message view's pure parts: reading bodies, quotes, nested items and cards from hostile JSON. */
import { describe, expect, it } from 'vitest';
import { bodyOf, nestedMessages, safeHttpUrl } from '../../web/src/messages/body.ts';
import { cardOf } from '../../web/src/messages/cards.ts';
import { parseQuote } from '../../web/src/messages/quote.ts';

const t = (key: string, params?: Record<string, unknown>): string => `${key}${params ? JSON.stringify(params) : ''}`;

describe('message parsing', () => {
  it('reads quoted replies in the archive form (Chinese and English) and the WeChat form, and nothing else', () => {
    expect(parseQuote('这是一条引用/回复消息：\n"张三：\n原话\n第二行"\n------\n@张三 回复')).toEqual({ user: '张三', quote: '原话\n第二行', content: '@张三 回复' });
    expect(parseQuote('This is a quote/reply:\n"Bob:\nhello"\n------\nhi')).toEqual({ user: 'Bob', quote: 'hello', content: 'hi' });
    expect(parseQuote('「李四：微信里的话」\n- - - - - - - - - - - - - - -\n好的')).toEqual({ user: '李四', quote: '微信里的话', content: '好的' });
    expect(parseQuote('普通的一句话\n------\n不是引用')).toBeUndefined();
  });

  it('finds each body under the key WeCom uses, and at the top level when there is no nested one', () => {
    expect(bodyOf({ msgid: 'a', msgtype: 'markdown', info: { content: 'x' } })).toEqual({ content: 'x' });
    expect(bodyOf({ msgid: 'b', msgtype: 'docmsg', doc: { title: 'd' } })).toEqual({ title: 'd' });
    expect(bodyOf({ msgid: 'c', msgtype: 'external_redpacket', redpacket: { wish: 'w' } })).toEqual({ wish: 'w' });
    const flat = { msgid: 'd', msgtype: 'location', address: '北京' };
    expect(bodyOf(flat)).toBe(flat);
  });

  it('lets only http(s) addresses become links', () => {
    expect(safeHttpUrl('https://example.com/a')).toBe('https://example.com/a');
    expect(safeHttpUrl(' javascript:alert(1)')).toBeUndefined();
    expect(safeHttpUrl('data:text/html,<script>')).toBeUndefined();
    expect(safeHttpUrl('not a url')).toBeUndefined();
  });

  it('turns chatrecord items into messages of their own type, and marks unreadable ones', () => {
    const items = nestedMessages({
      msgid: 'p',
      msgtype: 'chatrecord',
      chatrecord: {
        item: [{ type: 'ChatRecordImage', msgtime: 1603875615, content: '{"sdkfileid":"s1"}' }, { type: 'ChatRecordText', msgtime: 1603875616, content: 'not json' }, 'garbage'],
      },
    });
    expect(items).toEqual([
      { message: { msgid: 'p#0', msgtype: 'image', msgtime: 1603875615000, image: { sdkfileid: 's1' } }, ok: true },
      { message: { msgid: 'p#1', msgtype: 'text', msgtime: 1603875616000 }, ok: false },
      { message: { msgid: 'p#2', msgtype: '' }, ok: false },
    ]);
  });

  it('builds cards from fields of the wrong type without throwing, and amounts from fen', () => {
    expect(cardOf('redpacket', { type: 2, wish: '恭喜', totalcnt: 3, totalamount: 1234 }, t, 'zh-CN')).toEqual({
      kind: 'redpacket',
      title: '恭喜',
      lines: ['msg.card.packetKind.2', 'msg.card.amount{"count":3,"yuan":"12.34"}'],
    });
    expect(cardOf('link', { title: 5, link_url: 'javascript:alert(1)' }, t, 'zh-CN')).toEqual({
      kind: 'link',
      title: '5',
      lines: [],
      url: undefined,
      urlText: 'javascript:alert(1)',
    });
    expect(cardOf('vote', { voteitem: 'not a list', votetype: '102' }, t, 'zh-CN')?.lines).toEqual(['msg.card.voteJoin']);
    expect(cardOf('text', {}, t, 'zh-CN')).toBeUndefined();
  });
});
