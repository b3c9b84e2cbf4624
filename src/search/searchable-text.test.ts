import { beforeAll, describe, expect, it } from 'vitest';
import { generatedPlaintexts } from '../../test/support/generated-messages.ts';
import { parseMessageJson } from '../messages/normalize-message.ts';
import { SEARCH_TEXT_LIMITS, searchableText, searchableTextOfRaw } from './searchable-text.ts';

const fieldsOf = (message: unknown): Array<[string, string]> => searchableText(message).map((f) => [f.source, f.text]);
const message = (msgtype: string, body: Record<string, unknown>): Record<string, unknown> => ({
  msgid: 'm1',
  action: 'send',
  from: 'zhangsan',
  tolist: ['lisi'],
  roomid: '',
  msgtime: 1_700_000_000_000,
  msgtype,
  ...body,
});
const record = (type: string, content: unknown): Record<string, unknown> => ({ type, msgtime: 1_700_000_000, content: JSON.stringify(content), from_chatroom: false });

describe('searchableText: what each message type offers', () => {
  const cases: Array<[string, Record<string, unknown>, Array<[string, string]>]> = [
    ['text', { text: { content: '明天上午十点开会' } }, [['text.content', '明天上午十点开会']]],
    ['markdown', { info: { content: '## 构建失败' } }, [['info.content', '## 构建失败']]],
    ['file', { file: { filename: '资料.docx', fileext: 'docx', md5sum: 'ab', sdkfileid: 'X' } }, [['file.filename', '资料.docx']]],
    ['voip_doc_share', { voipid: 'gr1', voip_doc_share: { filename: '欢迎使用微盘.pdf.pdf', sdkfileid: 'X' } }, [['voip_doc_share.filename', '欢迎使用微盘.pdf.pdf']]],
    ['qydiskfile', { info: { filename: '.sys.log' } }, [['info.filename', '.sys.log']]],
    [
      'link',
      { link: { title: '请你加入群聊', description: '技术支持群', link_url: 'https://x', image_url: 'https://y' } },
      [
        ['link.title', '请你加入群聊'],
        ['link.description', '技术支持群'],
      ],
    ],
    [
      'weapp',
      { weapp: { title: '服务须知事项', description: '客户需同意', username: 'gh_1@app', displayname: '服务须知' } },
      [
        ['weapp.title', '服务须知事项'],
        ['weapp.description', '客户需同意'],
        ['weapp.displayname', '服务须知'],
      ],
    ],
    ['card', { card: { corpname: '腾讯科技', userid: 'wmGAge' } }, [['card.corpname', '腾讯科技']]],
    [
      'location',
      { location: { longitude: 116.5, latitude: 39.9, address: '北京市朝阳区', title: '现代城', zoom: 15 } },
      [
        ['location.title', '现代城'],
        ['location.address', '北京市朝阳区'],
      ],
    ],
    [
      'news',
      { info: { item: [{ title: 'service', description: 'test', url: 'https://x', picurl: 'https://y' }, { title: '每日新闻' }] } },
      [
        ['info.item.title', 'service'],
        ['info.item.description', 'test'],
        ['info.item.title', '每日新闻'],
      ],
    ],
    [
      'todo',
      { todo: { title: '来源文本', content: '准备演示' } },
      [
        ['todo.title', '来源文本'],
        ['todo.content', '准备演示'],
      ],
    ],
    [
      'vote',
      { vote: { votetitle: '午饭吃什么', voteitem: ['面', '饭', 3], votetype: 101, voteid: '1' } },
      [
        ['vote.votetitle', '午饭吃什么'],
        ['vote.voteitem', '面'],
        ['vote.voteitem', '饭'],
      ],
    ],
    [
      'collect',
      { collect: { room_name: '这是一个群', creator: 'nick', create_time: '2019-12-11 11:21:22', title: '报名表', details: [{ id: 1, ques: '表项1，文本', type: 'Text' }] } },
      [
        ['collect.title', '报名表'],
        ['collect.details.ques', '表项1，文本'],
      ],
    ],
    [
      'calendar',
      { calendar: { title: '业绩复盘会', creatorname: 'test', attendeename: ['aaa'], starttime: 1, endtime: 2, place: '会议室A', remarks: '带电脑' } },
      [
        ['calendar.title', '业绩复盘会'],
        ['calendar.place', '会议室A'],
        ['calendar.remarks', '带电脑'],
      ],
    ],
    [
      'meeting',
      { meeting: { topic: '夕会', starttime: 1, endtime: 2, address: '3楼', remarks: '', meetingid: 1 } },
      [
        ['meeting.topic', '夕会'],
        ['meeting.address', '3楼'],
      ],
    ],
    ['meeting_notification', { info: { content: '快速会议 已结束', meeting_id: 1, notification_type: 2 } }, [['info.content', '快速会议 已结束']]],
    ['docmsg', { doc: { title: '测试&演示客户', doc_creator: 'test', link_url: 'https://doc' } }, [['doc.title', '测试&演示客户']]],
    [
      'sphfeed',
      { sphfeed: { feed_type: 4, sph_name: '云游天地旅行家', feed_desc: '瑞士缆车' } },
      [
        ['sphfeed.sph_name', '云游天地旅行家'],
        ['sphfeed.feed_desc', '瑞士缆车'],
      ],
    ],
    ['redpacket', { redpacket: { type: 1, wish: '恭喜发财，大吉大利', totalcnt: 1, totalamount: 3000 } }, [['redpacket.wish', '恭喜发财，大吉大利']]],
    ['external_redpacket', { redpacket: { type: 1, wish: '新年快乐', totalcnt: 2, totalamount: 20 } }, [['redpacket.wish', '新年快乐']]],
    [
      'meeting_voice_call',
      { voiceid: 'grb1', meeting_voice_call: { endtime: 1, sdkfileid: 'X', demofiledata: [{ filename: '方案.docx', demooperator: 'wo1' }], sharescreendata: [{ share: 'wo1' }] } },
      [['meeting_voice_call.demofiledata.filename', '方案.docx']],
    ],
  ];
  for (const [msgtype, body, expected] of cases) {
    it(`reads ${msgtype}`, () => expect(fieldsOf(message(msgtype, body))).toEqual(expected));
  }

  it('reads nothing from types without text, unknown types and switch records', () => {
    for (const [msgtype, body] of [
      ['image', { image: { md5sum: 'a', filesize: 1, sdkfileid: 'X' } }],
      ['voice', { voice: { sdkfileid: 'X' } }],
      ['revoke', { revoke: { pre_msgid: 'm0' } }],
      ['agree', { agree: { userid: 'wm1', agree_time: 1 } }],
      ['voiptext', { info: { callduration: 9, invitetype: 2 } }],
      ['future_type', { future_type: { content: 'text' } }],
    ] as const) {
      expect(fieldsOf(message(msgtype, body))).toEqual([]);
    }
    expect(fieldsOf({ msgid: 'm', action: 'switch', time: 1, user: 'zhangsan' })).toEqual([]);
  });

  it("finds weapp bodies under link, as WeCom's own format example has them", () => {
    expect(fieldsOf(message('weapp', { link: { title: '开始聊天前请仔细阅读', displayname: '服务须知' } }))).toEqual([
      ['link.title', '开始聊天前请仔细阅读'],
      ['link.displayname', '服务须知'],
    ]);
  });
});

describe('searchableText: quotes and records', () => {
  it('splits a quote/reply into the quote and the reply, without the prefix or the quoted name', () => {
    const zh = '这是一条引用/回复消息：\n“张三：\n明天开会吗”\n------\n@张三 好的';
    expect(fieldsOf(message('text', { text: { content: zh } }))).toEqual([
      ['text.quote', '明天开会吗'],
      ['text.content', '@张三 好的'],
    ]);
    const en = 'This is a quote/reply:\n"Lucy:\nLGTM"\n------\nmerged';
    expect(fieldsOf(message('text', { text: { content: en } }))).toEqual([
      ['text.quote', 'LGTM'],
      ['text.content', 'merged'],
    ]);
    const wechat = '「王五：价格有点高」\n- - - - - - - - - - - - - - -\n我再问问';
    expect(fieldsOf(message('text', { text: { content: wechat } }))).toEqual([
      ['text.quote', '价格有点高'],
      ['text.content', '我再问问'],
    ]);
  });

  it('reads a huge text that looks like a quote with colons everywhere as plain text, in linear time', () => {
    const content = `「a：${'x：'.repeat(40_000)}`;
    expect(fieldsOf(message('text', { text: { content } }))).toEqual([['text.content', content]]);
  });

  it('reads each chat record item from its JSON content, nested records and mixed items too', () => {
    const inner = { title: '内层', item: [record('ChatRecordText', { content: '内层消息' })] };
    const mixed = {
      item: [
        { type: 'text', content: JSON.stringify({ content: '图文混排' }) },
        { type: 'image', content: JSON.stringify({ sdkfileid: 'X' }) },
      ],
    };
    const fields = fieldsOf(
      message('chatrecord', {
        chatrecord: {
          title: '群聊',
          item: [
            record('ChatRecordText', { content: 'test' }),
            record('ChatRecordFile', { filename: '报价单.xlsx', sdkfileid: 'X' }),
            record('ChatRecordLink', { title: '链接标题', description: '链接描述', link_url: 'https://x' }),
            record('ChatRecordMixed', mixed),
            record('chatrecord', inner),
            record('ChatRecordSomethingNew', { title: '新类型标题', userid: 'wm1' }),
            record('ChatRecordText', 'not an object'),
            { type: 'ChatRecordText', content: '{"broken' },
          ],
        },
      }),
    );
    expect(fields).toEqual([
      ['chatrecord.title', '群聊'],
      ['chatrecord.item.text.content', 'test'],
      ['chatrecord.item.file.filename', '报价单.xlsx'],
      ['chatrecord.item.link.title', '链接标题'],
      ['chatrecord.item.link.description', '链接描述'],
      ['chatrecord.item.mixed.item.text.content', '图文混排'],
      ['chatrecord.item.chatrecord.title', '内层'],
      ['chatrecord.item.chatrecord.item.text.content', '内层消息'],
      ['chatrecord.item.somethingnew.title', '新类型标题'],
    ]);
  });

  it('stops at the nesting limit', () => {
    let body: Record<string, unknown> = { item: [record('ChatRecordText', { content: '最深处' })] };
    for (let depth = 0; depth < SEARCH_TEXT_LIMITS.nesting + 3; depth++) body = { title: `层${depth}`, item: [record('ChatRecordChatRecord', body)] };
    const texts = fieldsOf(message('chatrecord', { chatrecord: body })).map(([, text]) => text);
    expect(texts).not.toContain('最深处');
    expect(texts.length).toBe(SEARCH_TEXT_LIMITS.nesting + 1);
  });
});

describe('searchableText: hostile input', () => {
  it('yields nothing for values of the wrong type, never an exception', () => {
    for (const bad of [
      null,
      undefined,
      42,
      'text',
      [],
      [{ msgtype: 'text' }],
      { msgtype: 7 },
      { msgtype: 'text', text: 'flat' },
      { msgtype: 'text', text: { content: 5 } },
      { msgtype: 'vote', vote: { voteitem: 'not a list' } },
      { msgtype: 'chatrecord', chatrecord: { item: { not: 'a list' } } },
      { msgtype: 'news', info: { item: [null, 1, 'x'] } },
      { msgtype: 'text', text: { content: '   ' } },
      { msgtype: 'constructor' },
      { msgtype: '__proto__' },
      { msgtype: 'toString', toString: { content: 'x' } },
    ]) {
      expect(fieldsOf(bad)).toEqual([]);
    }
  });

  it('ignores members inherited rather than owned', () => {
    const body = Object.create({ content: 'inherited' }) as Record<string, unknown>;
    expect(fieldsOf(message('text', { text: body }))).toEqual([]);
  });

  it('cuts huge fields and messages to the limits, at a code point', () => {
    const huge = `${'a'.repeat(SEARCH_TEXT_LIMITS.fieldChars - 1)}𠀀tail`;
    const [field] = searchableText(message('text', { text: { content: huge } }));
    expect(field!.text.length).toBe(SEARCH_TEXT_LIMITS.fieldChars - 1);
    const many = Array.from({ length: SEARCH_TEXT_LIMITS.fields + 50 }, (_, i) => `选项${i}`);
    expect(searchableText(message('vote', { vote: { votetitle: 't', voteitem: many } })).length).toBe(SEARCH_TEXT_LIMITS.fields);
    const big = 'x'.repeat(SEARCH_TEXT_LIMITS.fieldChars);
    const total = searchableText(message('vote', { vote: { voteitem: Array.from({ length: 15 }, () => big) } }));
    expect(total.reduce((n, f) => n + f.text.length, 0)).toBe(SEARCH_TEXT_LIMITS.totalChars);
  });

  it('reads raw stored bytes, control characters included, and yields nothing for bytes that are not a JSON object', () => {
    const raw = Buffer.from('{"msgtype":"text","text":{"content":"好的\u0001收到"}}', 'utf8');
    expect(searchableTextOfRaw(raw).map((f) => f.text)).toEqual(['好的\u0001收到']);
    for (const bad of ['', 'not json', '[1,2]', '"text"', '{"msgtype":"text","text":{"content":"x"', '['.repeat(100_000)]) expect(searchableTextOfRaw(bad)).toEqual([]);
  });
});

describe('searchableText over simulated messages of every type', () => {
  let docs: Array<Record<string, unknown>>;
  beforeAll(async () => {
    docs = (await generatedPlaintexts('searchable-text', 1300)).map((p) => parseMessageJson(p.toString('utf8')));
  });

  const WITHOUT_TEXT = new Set(['image', 'revoke', 'agree', 'disagree', 'voice', 'video', 'emotion', 'voiptext', 'switch']);

  /** a private person's card has an empty corpname; a call without a shared document has no file name */
  const MAY_BE_EMPTY = new Set(['card', 'meeting_voice_call']);

  it('finds text in every message of a type that has text, and none in the others', () => {
    const withText = new Map<string, boolean>();
    for (const doc of docs) {
      const type = typeof doc.msgtype === 'string' ? doc.msgtype : 'switch';
      const found = searchableText(doc).length > 0;
      withText.set(type, (withText.get(type) ?? false) || found);
      if (!MAY_BE_EMPTY.has(type)) expect(found, type).toBe(!WITHOUT_TEXT.has(type));
    }
    expect(withText.size).toBe(32);
    for (const [type, found] of withText) expect(found, type).toBe(!WITHOUT_TEXT.has(type));
  });

  it('never offers the sender or recipient ids as text', () => {
    for (const doc of docs) {
      const ids = [doc.from, ...(Array.isArray(doc.tolist) ? doc.tolist : [])].filter((id): id is string => typeof id === 'string' && id !== '');
      for (const field of searchableText(doc)) for (const id of ids) expect(field.text).not.toContain(id);
    }
  });
});
