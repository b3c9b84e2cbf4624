import { describe, expect, it } from 'vitest';
import { contentOf, parseStoredMessage, previewOf, quoteOf, shorten } from './message-content.ts';

describe('message content', () => {
  it('splits the three quote/reply forms into who, what is quoted, and the reply', () => {
    expect(quoteOf('这是一条引用/回复消息：\n"张三：\n明天开会"\n------\n@张三 好的')).toEqual({ user: '张三', quote: '明天开会', content: '@张三 好的' });
    expect(quoteOf('这是一条引用/回复消息：\n“张三：\n两行\n引用”\n------\n收到')).toEqual({ user: '张三', quote: '两行\n引用', content: '收到' });
    expect(quoteOf('This is a quote/reply:\n"Tom:\nsee you"\n------\nok')).toEqual({ user: 'Tom', quote: 'see you', content: 'ok' });
    expect(quoteOf('「李四：文件发了吗」\n- - - - - - - - - - - - - - -\n发了')).toEqual({ user: '李四', quote: '文件发了吗', content: '发了' });
    expect(quoteOf('普通消息\n------\n不是引用')).toBeNull();
  });

  it('previews a reply by its own words, a card by its title, and other types not at all', () => {
    expect(previewOf({ content: '「李四：文件发了吗」\n- - - - - - - - - - - - - - -\n发了' }, 'text')).toBe('发了');
    expect(previewOf({ title: '季度报告', link_url: 'https://example.com' }, 'link')).toBe('季度报告');
    expect(previewOf({ filename: '合同.pdf' }, 'file')).toBe('合同.pdf');
    expect(previewOf({ md5sum: 'x', sdkfileid: 'y' }, 'image')).toBeNull();
    expect(shorten('一'.repeat(100), 5)).toBe('一一一一一…');
    expect(shorten('a \n\t b')).toBe('a b');
  });

  it('keeps integers beyond 2^53 exact and finds content stored under another name', () => {
    const message = parseStoredMessage(Buffer.from('{"action":"send","msgtype":"markdown","info":{"content":"**粗体**","id":11088563028032788932}}'));
    expect(contentOf(message, 'markdown')).toEqual({ content: '**粗体**', id: '11088563028032788932' });
    expect(contentOf(parseStoredMessage(Buffer.from('{"action":"switch","time":1,"user":"u"}')), 'switch')).toEqual({ user: 'u', time: 1 });
    expect(parseStoredMessage(Buffer.from('not json'))).toBeNull();
  });
});
