/**
 * The type-specific part of each message, nested under the key WeCom's official message format
 * reference uses. Field names are spelled as the reference spells them, including its
 * oddities: markdown/news/voiptext/qydiskfile/meeting_notification bodies live under `info`,
 * docmsg under `doc`, external_redpacket under `redpacket`, and meeting_voice_call/voip_doc_share
 * carry `voiceid`/`voipid` beside the body.
 */
import type { MediaKind } from '../sdk/media-pool.ts';
import type { CorpDirectory, Person } from './corp-directory.ts';
import { writeJson, type JsonValue, type RawText } from './json-writer.ts';
import type { MessageType } from './message-types.ts';
import type { Rng } from './prng.ts';
import { chatLine, FILE_NAMES, pickTextVariant, sentence, textContent } from './text-corpus.ts';

export interface MediaFields {
  sdkfileid: string;
  md5sum: string;
  filesize: number;
}

export interface BodyContext {
  readonly rng: Rng;
  readonly msgtime: number;
  readonly sender: Person;
  /** recipients (the tolist as people) */
  readonly others: readonly Person[];
  readonly roomid: string;
  readonly directory: CorpDirectory;
  /** msgid a revoke points at */
  readonly preMsgid: string;
  /** a fresh sdkfileid for this message (each call a new slot) and its blob's md5/size */
  media(kind: MediaKind): MediaFields;
}

type Members = Record<string, JsonValue>;
export type BodyBuilder = (c: BodyContext) => Members;

const PLACES: ReadonlyArray<readonly [number, number, string, string]> = [
  [116.397128, 39.916527, '北京市东城区景山前街4号', '故宫博物院'],
  [121.499718, 31.239703, '上海市浦东新区世纪大道1号', '东方明珠广播电视塔'],
  [113.943866, 22.524089, '广东省深圳市南山区海天二路33号', '腾讯滨海大厦'],
  [120.148732, 30.242489, '浙江省杭州市西湖区龙井路1号', '西湖风景名胜区'],
  [116.586285899, 39.911125799, '北京市朝阳区建国路88号SOHO现代城', '现代城管理中心'],
];
const LINKS: ReadonlyArray<readonly [string, string, string]> = [
  ['邀请你加入群聊', '技术支持群，进入可查看详情', 'https://work.weixin.qq.com/wework_admin/external_room/join/exceed?vcode=xxx'],
  ['2024 年度产品发布会回顾', '新功能一览：会话存档、智能表格、微盘', 'https://mp.weixin.qq.com/s/AbCdEf123456'],
  ['How we cut our build time in half', 'Engineering blog', 'https://example.com/blog/faster-builds?utm_source=wecom&x=1'],
];
const WEAPPS: ReadonlyArray<readonly [string, string, string, string]> = [
  ['开始聊天前请仔细阅读服务须知事项', '客户需同意存档聊天记录', 'gh_a1b2c3d4e5f6@app', '服务须知'],
  ['腾讯文档', '多人实时在线编辑', 'gh_252c5f06840b@app', '腾讯文档'],
  ['报销审批', '待你审批：差旅费 ¥1,280.00', 'gh_0f1e2d3c4b5a@app', '审批'],
];
const WISHES = ['恭喜发财，大吉大利', '新年快乐！', '辛苦啦，喝杯奶茶', 'Happy Friday 🎉'];
const MEETING_TOPICS = ['夕会', '周例会', '客户需求评审', '季度复盘', 'Sprint planning', '面试：后端工程师'];
const SPH_NAMES = ['云游天地旅行家', '腾讯科技', '城市日记', 'TechTalk'];
const MARKDOWNS = [
  '## 构建失败\n> 项目：**wecom-archive**\n> 分支：`main`\n[查看详情](https://ci.example.com/build/1024)',
  '**今日待办**\n1. 回复客户邮件\n2. 提交周报\n3. <font color="warning">合同盖章</font>',
  '请前往系统查看，谢谢。',
];

function seconds(ms: number): number {
  return Math.floor(ms / 1000);
}

function personFrom(c: BodyContext): Person {
  return c.rng.pick(c.others.length > 0 ? c.others : [c.sender]);
}

function fileExt(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot >= 0 ? name.slice(dot + 1) : '';
}

/** The JSON text stored in chatrecord/mixed `content` strings. */
function inner(value: JsonValue): string {
  return writeJson(value);
}

function imageFields(c: BodyContext, kind: MediaKind = 'jpg'): Members {
  const m = c.media(kind);
  return { md5sum: m.md5sum, filesize: m.filesize, sdkfileid: m.sdkfileid };
}

function fileFields(c: BodyContext): Members {
  const kind = c.rng.pick<MediaKind>(['pdf', 'docx', 'xlsx', 'zip', 'dat']);
  const filename = c.rng.pick(FILE_NAMES[kind] ?? ['file.bin']);
  const m = c.media(kind);
  return { md5sum: m.md5sum, filename, fileext: fileExt(filename), filesize: m.filesize, sdkfileid: m.sdkfileid };
}

function chatRecordItem(c: BodyContext): Members {
  const { rng } = c;
  const msgtime = seconds(c.msgtime) - rng.range(600, 86_400 * 3);
  const kind = rng.pick(['ChatRecordText', 'ChatRecordText', 'ChatRecordImage', 'ChatRecordFile', 'ChatRecordLink', 'ChatRecordLocation', 'ChatRecordVideo', 'ChatRecordMixed']);
  let content: JsonValue;
  switch (kind) {
    case 'ChatRecordImage':
      content = imageFields(c);
      break;
    case 'ChatRecordFile':
      content = fileFields(c);
      break;
    case 'ChatRecordVideo': {
      const m = c.media('mp4');
      content = { md5sum: m.md5sum, filesize: m.filesize, play_length: Math.round(m.filesize / 250_000) + 1, sdkfileid: m.sdkfileid };
      break;
    }
    case 'ChatRecordLink': {
      const [title, description, link_url] = rng.pick(LINKS);
      content = { title, description, link_url, image_url: 'https://wework.qpic.cn/wwpic/123456_abcdef/0' };
      break;
    }
    case 'ChatRecordLocation': {
      const [longitude, latitude, address, title] = rng.pick(PLACES);
      content = { longitude, latitude, address, title, zoom: 15 };
      break;
    }
    case 'ChatRecordMixed':
      content = {
        item: [
          { type: 'text', content: inner({ content: chatLine(rng, 'zh') }) },
          { type: 'image', content: inner(imageFields(c)) },
        ],
      };
      break;
    default:
      content = { content: sentence(rng, c.sender.lang) };
  }
  return { type: kind, msgtime, content: inner(content), from_chatroom: rng.chance(0.5) };
}

function redpacket(c: BodyContext, maxType: number): Members {
  const { rng } = c;
  const totalcnt = rng.range(1, 20);
  return { type: rng.range(1, maxType), wish: rng.pick(WISHES), totalcnt, totalamount: totalcnt * rng.range(1, 2000) };
}

export const BODY_BUILDERS: Readonly<Record<Exclude<MessageType, 'switch' | 'meeting_notification'>, BodyBuilder>> = {
  text: (c) => {
    const variant = pickTextVariant(c.rng);
    const quoted = personFrom(c).name;
    const content: string | RawText = textContent(c.rng, variant, c.sender.lang, { quoted, mention: quoted });
    return { text: { content } };
  },
  image: (c) => ({ image: imageFields(c, c.rng.chance(0.8) ? 'jpg' : 'png') }),
  revoke: (c) => ({ revoke: { pre_msgid: c.preMsgid } }),
  agree: (c) => ({ agree: { userid: c.sender.id, agree_time: c.msgtime } }),
  disagree: (c) => ({ disagree: { userid: c.sender.id, disagree_time: c.msgtime } }),
  voice: (c) => {
    // WeCom clients record AMR-NB; voice from WeChat users comes as SILK v3; a few devices send AMR-WB
    const roll = c.rng.float();
    const kind: MediaKind = roll < 0.7 ? 'amr' : roll < 0.93 ? 'silk' : 'amrwb';
    const m = c.media(kind);
    // bytes per second: AMR-NB 12.2 kbit/s, SILK ~2.5 KB/s, AMR-WB 23.85 kbit/s
    const rate = kind === 'amr' ? 1600 : kind === 'silk' ? 2500 : 3050;
    return { voice: { md5sum: m.md5sum, voice_size: m.filesize, play_length: Math.max(1, Math.round(m.filesize / rate)), sdkfileid: m.sdkfileid } };
  },
  video: (c) => {
    const m = c.media('mp4');
    return { video: { md5sum: m.md5sum, filesize: m.filesize, play_length: Math.round(m.filesize / 250_000) + 1, sdkfileid: m.sdkfileid } };
  },
  card: (c) => {
    const external = c.rng.chance(0.5);
    const who = external ? c.rng.pick(c.directory.externals) : c.rng.pick(c.directory.members);
    return { card: { corpname: external ? c.rng.pick(['', '腾讯科技', 'ACME Corp', '个人']) : c.directory.corpName, userid: who.id } };
  },
  location: (c) => {
    const [lng, lat, address, title] = c.rng.pick(PLACES);
    const jitter = (): number => (c.rng.float() - 0.5) * 0.01;
    return { location: { longitude: Math.round((lng + jitter()) * 1e9) / 1e9, latitude: Math.round((lat + jitter()) * 1e9) / 1e9, address, title, zoom: c.rng.range(12, 18) } };
  },
  emotion: (c) => {
    const gif = c.rng.chance(0.6);
    const m = c.media(gif ? 'gif' : 'png');
    const side = c.rng.pick([120, 240, 290, 300]);
    return { emotion: { type: gif ? 1 : 2, width: side, height: side, imagesize: m.filesize, md5sum: m.md5sum, sdkfileid: m.sdkfileid } };
  },
  file: (c) => ({ file: fileFields(c) }),
  link: (c) => {
    const [title, description, link_url] = c.rng.pick(LINKS);
    return { link: { title, description, link_url, image_url: 'https://wework.qpic.cn/wwpic/xxx/0' } };
  },
  weapp: (c) => {
    const [title, description, username, displayname] = c.rng.pick(WEAPPS);
    return { weapp: { title, description, username, displayname } };
  },
  chatrecord: (c) => {
    const n = c.rng.range(2, 6);
    const item: Members[] = [];
    for (let k = 0; k < n; k++) item.push(chatRecordItem(c));
    return { chatrecord: { title: c.roomid ? '群聊' : `${c.sender.name}和${personFrom(c).name}的聊天记录`, item } };
  },
  todo: (c) => ({ todo: { title: chatLine(c.rng, 'zh'), content: c.rng.pick(['准备周五的客户演示', '更新报价单', 'Review the release checklist', '预订会议室']) } }),
  vote: (c) => {
    const start = c.rng.chance(0.5);
    return {
      vote: {
        votetitle: c.rng.pick(['团建去哪里？', '午饭吃什么', 'Release on Friday?']),
        voteitem: start ? ['选项A', '选项B', '选项C'] : [c.rng.pick(['选项A', '选项B'])],
        votetype: start ? 101 : 102,
        voteid: `${20240000000000 + c.rng.int(1e9)}`,
      },
    };
  },
  collect: (c) => {
    const types = ['Text', 'Number', 'Date', 'Time'];
    const n = c.rng.range(2, 5);
    const details: Members[] = [];
    for (let k = 0; k < n; k++) {
      // the reference types `id` as uint64; sometimes it is one that a double cannot hold
      details.push({ id: c.rng.chance(0.2) ? c.rng.bigUint64(1n << 60n) : k + 1, ques: `表项${k + 1}，${c.rng.pick(['姓名', '人数', '日期', '时间'])}`, type: c.rng.pick(types) });
    }
    const created = new Date(c.msgtime + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
    return {
      collect: { room_name: c.roomid ? '这是一个群' : '', creator: c.sender.name, create_time: created, title: c.rng.pick(['这是填表title', '团建报名表', '午餐统计']), details },
    };
  },
  redpacket: (c) => ({ redpacket: redpacket(c, 3) }),
  meeting: (c) => {
    const { rng } = c;
    const start = seconds(c.msgtime) + rng.range(60, 86_400);
    const quick = rng.chance(0.3);
    const type = rng.chance(0.6) ? 101 : 102;
    return {
      meeting: {
        topic: rng.pick(MEETING_TOPICS),
        starttime: start,
        // a quick meeting has no end, address or remarks
        endtime: quick ? undefined : start + rng.range(15, 120) * 60,
        address: quick ? undefined : rng.pick(['', '3楼大会议室', '腾讯会议']),
        remarks: quick ? undefined : rng.pick(['', '请提前准备材料']),
        meetingtype: type,
        meetingid: rng.bigUint64(1n << 60n),
        status: type === 102 ? rng.range(1, 7) : undefined,
      },
    };
  },
  docmsg: (c) => ({
    doc: {
      title: c.rng.pick(['测试&演示客户', '2025 规划', 'Roadmap Q3']),
      doc_creator: c.sender.id,
      link_url: `https://doc.weixin.qq.com/txdoc/excel?docid=e3_${c.rng.chars('abcdefghijklmnopqrstuvwxyz0123456789', 24)}`,
    },
  }),
  markdown: (c) => ({ info: { content: c.rng.pick(MARKDOWNS) } }),
  news: (c) => ({
    info: {
      item: [
        {
          title: c.rng.pick(['service ', '每日新闻', 'Release notes']),
          description: chatLine(c.rng, 'zh'),
          url: 'https://example.com/news/1',
          picurl: 'https://www.qq.com/xxx.png',
        },
      ],
    },
  }),
  calendar: (c) => {
    const start = seconds(c.msgtime) + c.rng.range(3_600, 86_400 * 7);
    return {
      calendar: {
        title: c.rng.pick(['xxx业绩复盘会', '产品评审', 'Team offsite']),
        creatorname: c.sender.name,
        attendeename: c.others.slice(0, 5).map((p) => p.name),
        starttime: start,
        endtime: start + 3_600,
        place: c.rng.pick(['', '会议室A', 'Zoom']),
        remarks: '',
      },
    };
  },
  mixed: (c) => {
    const n = c.rng.range(2, 5);
    const item: Members[] = [];
    for (let k = 0; k < n; k++) {
      const pick = k === 0 ? 'text' : c.rng.pick(['text', 'image', 'emotion']);
      if (pick === 'text') item.push({ type: 'text', content: inner({ content: `${sentence(c.rng, c.sender.lang)}\n` }) });
      else if (pick === 'image') item.push({ type: 'image', content: inner(imageFields(c)) });
      else {
        const m = c.media('png');
        item.push({ type: 'emotion', content: inner({ type: 2, width: 240, height: 240, imagesize: m.filesize, md5sum: m.md5sum, sdkfileid: m.sdkfileid }) });
      }
    }
    return { mixed: { item } };
  },
  meeting_voice_call: (c) => {
    const m = c.media('mp3');
    const t = seconds(c.msgtime);
    const call: Members = { endtime: t + c.rng.range(30, 3_600), sdkfileid: m.sdkfileid };
    if (c.rng.chance(0.5)) call.demofiledata = [{ filename: `${c.rng.chars('0123456789abcdef', 32)}.docx`, demooperator: c.sender.id, starttime: t + 10, endtime: t + 20 }];
    if (c.rng.chance(0.5)) call.sharescreendata = [{ share: c.sender.id, starttime: t + 30, endtime: t + 45 }];
    return { voiceid: `grb${c.rng.chars('0123456789abcdef', 32)}`, meeting_voice_call: call };
  },
  voip_doc_share: (c) => {
    const m = c.media('pdf');
    return {
      voipid: `gr${c.rng.chars('0123456789abcdef', 32)}`,
      voip_doc_share: { filename: c.rng.pick(FILE_NAMES.pdf ?? ['doc.pdf']), md5sum: m.md5sum, filesize: m.filesize, sdkfileid: m.sdkfileid },
    };
  },
  external_redpacket: (c) => ({ redpacket: redpacket(c, 2) }),
  sphfeed: (c) => ({
    sphfeed: {
      feed_type: c.rng.pick([2, 4, 9]),
      sph_name: c.rng.pick(SPH_NAMES),
      feed_desc: c.rng.pick(['瑞士 | 盖尔默缆车，名副其实的“过山车”', '一分钟看懂会话存档', 'Live now!']),
    },
  }),
  voiptext: (c) => ({ info: { callduration: c.rng.range(0, 3_600), invitetype: c.rng.range(1, 4) } }),
  qydiskfile: (c) => ({ info: { filename: c.rng.pick(['.sys.log', '项目资料汇总.pdf', '设计规范 v2.sketch']) } }),
};

/** meeting_notification's body: `info` with a uint64 `meeting_id`. */
export function meetingNotificationInfo(c: BodyContext): Members {
  const type = c.rng.range(1, 2);
  const who = c.sender.name;
  return { content: type === 1 ? `${who}加入了会议` : `${who}的快速会议 已结束`, meeting_id: c.rng.bigUint64(1n << 60n), notification_type: type };
}
