/**
 * Search against a brute-force scan, on every dialect, over a generated corpus of every searchable
 * message type (text, markdown, file names, link, weapp, card, location, news, todo, vote, collect,
 * calendar, meeting, docmsg, sphfeed, redpacket, chat records nested in chat records, mixed) with
 * Chinese, English and mixed text. The messages are stored as rows (no simulator, no decrypt), then
 * indexed by the index stage's own batches. Random queries (CJK substrings of 1–4 characters, words,
 * prefixes, phrases, exclusions, every filter) must give, over all pages and by countMatches,
 * exactly what a scan of the stored messages' text gives. Replay a failure with SEARCH_CORPUS_SEED.
 */
import { expect, it } from 'vitest';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import { mediaJobRows } from '../../src/media/jobs/media-job-rows.ts';
import { indexDocs } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import { parseSearchQuery, type SearchFilters } from '../../src/search/query.ts';
import { countMatches } from '../../src/search/search-messages.ts';
import type { Rng } from '../../src/simulator/core/prng.ts';
import { encodeSeq } from '../../src/store/seq-codec.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { allPages, bruteForce, EVERY_CANDIDATE, randomQuery, storedMessages, withText, type StoredMessage } from '../support/search-scan.ts';
import { seededRng, testSeed } from '../support/test-seed.ts';

const MESSAGES = 5_000;
const QUERIES = 520;
const CORP = 'wwcorpus';
const START = Date.UTC(2026, 2, 1, 1, 0, 0);

const ZH = (
  '合同 发票 抬头 报价 客户 供应商 审核 法务 会议 纪要 项目 进度 上线 测试 环境 服务器 磁盘 报警 维护 版本 安装包 共享盘 ' +
  '附件 请查收 麻烦 确认 一下 明天 上午 下午 十点 准时 参加 周报 已提交 交付 日期 提前 报销 单据 月底 前 提交 红包 谢谢 老板 ' +
  '辛苦 了 收到 马上 处理 方案 再看 价格 有点 高 沟通 发货 需求 下周一 中午 一起 吃饭 路上 大概 分钟 到 系统 今晚 注意 大家 ' +
  '数据 分析 报表 季度 目标 销售 市场 推广 活动 预算 采购 库存 物流 仓库 财务 人事 招聘 面试 培训 考勤 请假 出差 机票 酒店 ' +
  '北京 上海 深圳 广州 杭州 成都 武汉 南京 西安 重庆 朝阳区 望京 园区 大厦 楼 会议室 东 西 南 北 中 一 二 三 四 五 六 七 八 九 十 ' +
  '百 千 万 亿 元 张 李 王 赵 刘 陈 杨 黄 周 吴 的 是 不 在 有 我 你 他 她 们 这 那 个 和 与 及 也 都 就 还 又 很 非常 已经 正在 ' +
  '可以 需要 应该 能 会 要 想 看 说 做 用 给 让 把 被 从 对 向 为 因为 所以 但是 如果 虽然 然后 或者 以及 关于 通过 根据 按照 ' +
  '优惠 折扣 续费 签约 回款 发布 上架 下架 退款 售后 投诉 建议 反馈 问题 解决 完成 开始 结束 延期 取消 确认函 说明书 白皮书'
).split(' ');
const EN = (
  'deploy deployment release invoice contract meeting review budget report quarterly sales target server disk alert api ' +
  'gateway database backup restore migration schema index query cache cluster node kubernetes docker image build pipeline ' +
  'test staging production hotfix bug issue ticket customer vendor supplier price quote discount refund order shipment ' +
  'warehouse inventory finance payroll onboarding training travel hotel flight beijing shanghai shenzhen office room ' +
  'please confirm check send attach update tomorrow today morning afternoon urgent asap thanks ok sure done v2 v3 2026 q1 q2 ' +
  'iphone android wechat wecom excel pdf ppt word zip json yaml http https tcp udp ssl tls dns cdn oss s3 ai ml llm gpu'
).split(' ');
const PUNCT = ['，', '。', '！', '？', '、', '：', '；', ' ', ', ', '. ', '! ', ' - ', '（', '）', '“', '”', '🙂', '👍', '\n'];
const FILE_EXT = ['pdf', 'docx', 'xlsx', 'pptx', 'zip', 'png', 'txt'];

function zhPhrase(rng: Rng): string {
  return Array.from({ length: rng.range(1, 4) }, () => rng.pick(ZH)).join('');
}

function enPhrase(rng: Rng): string {
  return Array.from({ length: rng.range(1, 4) }, () => {
    const w = rng.pick(EN);
    return rng.chance(0.15) ? w.toUpperCase() : rng.chance(0.15) ? w[0]!.toUpperCase() + w.slice(1) : w;
  }).join(' ');
}

/** A chat line: Chinese, English, or both mixed, with punctuation and the odd emoji. */
function sentence(rng: Rng, words = rng.range(2, 9)): string {
  const lang = rng.pick(['zh', 'zh', 'en', 'mixed']);
  let out = '';
  for (let k = 0; k < words; k++) {
    const zh = lang === 'zh' || (lang === 'mixed' && rng.chance(0.6));
    out += zh ? zhPhrase(rng) : enPhrase(rng);
    if (k + 1 < words) out += rng.chance(0.5) ? rng.pick(PUNCT) : zh ? '' : ' ';
  }
  return out;
}

function fileName(rng: Rng): string {
  return `${rng.chance(0.5) ? zhPhrase(rng) : enPhrase(rng).replace(/ /g, '_')}${rng.chance(0.3) ? `_v${rng.range(1, 9)}` : ''}.${rng.pick(FILE_EXT)}`;
}

function media(rng: Rng): Record<string, unknown> {
  return { md5sum: 'c4ca4238a0b923820dcc509a6f75849b', filesize: rng.range(100, 100_000), sdkfileid: `CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNDRh${rng.range(0, 1e9)}` };
}

/** A chat record's items; a chat record item may hold a chat record of its own, up to `depth` deep. */
function recordItems(rng: Rng, depth: number): Array<Record<string, unknown>> {
  return Array.from({ length: rng.range(1, 4) }, () => {
    const kind = depth > 0 && rng.chance(0.25) ? 'chatrecord' : rng.pick(['text', 'text', 'file', 'link', 'location', 'mixed', 'image']);
    let content: unknown;
    if (kind === 'chatrecord') content = { title: sentence(rng, 2), item: recordItems(rng, depth - 1) };
    else if (kind === 'text') content = { content: sentence(rng) };
    else if (kind === 'file') content = { filename: fileName(rng), ...media(rng) };
    else if (kind === 'link') content = { title: sentence(rng, 3), description: sentence(rng), link_url: 'https://example.com/a' };
    else if (kind === 'location') content = { title: zhPhrase(rng), address: sentence(rng, 3), longitude: 116.4, latitude: 39.9, zoom: 15 };
    else if (kind === 'mixed') content = { item: mixedItems(rng) };
    else content = media(rng);
    const type = `ChatRecord${kind === 'chatrecord' ? 'ChatRecord' : kind[0]!.toUpperCase() + kind.slice(1)}`;
    return { type, msgtime: 1_772_000_000, content: JSON.stringify(content), from_chatroom: rng.chance(0.5) };
  });
}

function mixedItems(rng: Rng): Array<Record<string, unknown>> {
  return Array.from({ length: rng.range(1, 4) }, () =>
    rng.chance(0.6) ? { type: 'text', content: JSON.stringify({ content: sentence(rng) }) } : { type: rng.pick(['image', 'emotion']), content: JSON.stringify(media(rng)) },
  );
}

/** The body of a message of `msgtype` (under the member WeCom puts it in), with generated text. */
function body(rng: Rng, msgtype: string): Record<string, unknown> {
  switch (msgtype) {
    case 'text':
      return { text: { content: rng.chance(0.08) ? `这是一条引用/回复消息：\n"张三：\n${sentence(rng)}"\n------\n${sentence(rng)}` : sentence(rng) } };
    case 'markdown':
      return { info: { content: `# ${sentence(rng, 2)}\n- ${sentence(rng)}\n- ${sentence(rng)}` } };
    case 'file':
      return { file: { filename: fileName(rng), fileext: 'pdf', ...media(rng) } };
    case 'voip_doc_share':
      return { voip_doc_share: { filename: fileName(rng), ...media(rng) } };
    case 'qydiskfile':
      return { info: { filename: fileName(rng) } };
    case 'link':
      return { link: { title: sentence(rng, 3), description: sentence(rng), link_url: 'https://example.com/x', image_url: 'https://example.com/i.png' } };
    case 'weapp':
      return { weapp: { title: sentence(rng, 2), description: sentence(rng), username: 'gh_abc@app', displayname: zhPhrase(rng) } };
    case 'card':
      return { card: { corpname: `${zhPhrase(rng)}有限公司`, userid: 'wo_card' } };
    case 'location':
      return { location: { longitude: 121.5, latitude: 31.2, address: `${rng.pick(['上海', '北京', 'Shenzhen'])}${sentence(rng, 2)}`, title: zhPhrase(rng), zoom: 15 } };
    case 'news':
      return { info: { item: Array.from({ length: rng.range(1, 3) }, () => ({ title: sentence(rng, 3), description: sentence(rng), url: 'https://example.com/n' })) } };
    case 'todo':
      return { todo: { title: sentence(rng, 3), content: sentence(rng) } };
    case 'vote':
      return { vote: { votetitle: sentence(rng, 3), voteitem: Array.from({ length: rng.range(2, 4) }, () => sentence(rng, 2)), votetype: 101, voteid: 'v1' } };
    case 'collect':
      return { collect: { room_name: '群', creator: 'a', create_time: '2026-03-01', title: sentence(rng, 3), details: [{ id: 1, ques: sentence(rng, 3), type: 'Text' }] } };
    case 'calendar':
      return { calendar: { title: sentence(rng, 3), creatorname: 'a', attendeename: ['b'], starttime: 1, endtime: 2, place: zhPhrase(rng), remarks: sentence(rng) } };
    case 'meeting':
      return { meeting: { topic: sentence(rng, 3), starttime: 1, endtime: 2, address: zhPhrase(rng), remarks: sentence(rng), meetingtype: 102, meetingid: 1 } };
    case 'docmsg':
      return { doc: { title: sentence(rng, 3), doc_creator: 'a', link_url: 'https://doc.weixin.qq.com/x' } };
    case 'sphfeed':
      return { sphfeed: { feed_type: 4, sph_name: zhPhrase(rng), feed_desc: sentence(rng) } };
    case 'redpacket':
      return { redpacket: { type: 1, wish: sentence(rng, 3), totalcnt: 1, totalamount: 100 } };
    case 'chatrecord':
      return { chatrecord: { title: sentence(rng, 2), item: recordItems(rng, 2) } };
    case 'mixed':
      return { mixed: { item: mixedItems(rng) } };
    default:
      return { image: media(rng) };
  }
}

const TYPES = [
  ...Array<string>(12).fill('text'),
  'markdown',
  'file',
  'voip_doc_share',
  'qydiskfile',
  'link',
  'weapp',
  'card',
  'location',
  'news',
  'todo',
  'vote',
  'collect',
  'calendar',
  'meeting',
  'docmsg',
  'sphfeed',
  'redpacket',
  'chatrecord',
  'chatrecord',
  'mixed',
  'mixed',
  'image',
];

/** Stores the corpus as the decrypt stage would (messages, media jobs, search queue), then indexes it. */
async function storeCorpus(store: Store, rng: Rng): Promise<void> {
  const senders = Array.from({ length: 40 }, (_, k) => (k < 30 ? `user${k}` : `wmExternal${k}`));
  const conversations = Array.from({ length: 30 }, (_, k) => (k < 12 ? `room:wrRoom${k}` : `pair:user${k}|wmExternal${k}`));
  const rows = Array.from({ length: MESSAGES }, (_, i) => {
    const msgtype = TYPES[i % TYPES.length]!;
    const msgid = `msg${String(i).padStart(5, '0')}_${rng.range(0, 1e6)}`;
    const conversation = rng.pick(conversations);
    const from = rng.pick(senders);
    // groups of three share a time, so the order falls back on seq
    const msgtime = START + Math.floor(i / 3) * 60_000;
    const message = { msgid, action: 'send', from, tolist: ['user1'], roomid: '', msgtime, msgtype, ...body(rng, msgtype) };
    return {
      corpid: CORP,
      msgid,
      seq: encodeSeq(BigInt(i + 1)),
      action: 'send',
      from_id: from,
      tolist: '["user1"]',
      roomid: conversation.startsWith('room:') ? conversation.slice(5) : '',
      msgtime,
      msgtype,
      conversation_key: conversation,
      is_external: conversation.startsWith('pair:') && rng.chance(0.7) ? 1 : 0,
      is_updown: 0,
      known_type: 1,
      pre_msgid: null,
      raw: Buffer.from(JSON.stringify(message)),
      created_at: 1,
    };
  });
  for (let i = 0; i < rows.length; i += 250) {
    const part = rows.slice(i, i + 250);
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('messages').values(part).execute();
      const jobs = mediaJobRows(CORP, part, 1);
      if (jobs.length > 0) await trx.insertInto('media').values(jobs).execute();
      await trx
        .insertInto('search_pending')
        .values(part.map((r) => ({ corpid: CORP, msgtime: r.msgtime, msgid: r.msgid, queued_at: 1 })))
        .execute();
    });
  }
  const repository = new IndexRepository(store.db, store.dialect);
  while ((await repository.indexBatch(500, indexDocs)) > 0);
}

function randomFilters(rng: Rng, corpus: readonly StoredMessage[]): SearchFilters {
  const filters: Record<string, unknown> = { corpid: CORP };
  const other = rng.pick(corpus);
  if (rng.chance(0.15)) filters.conversationKey = other.conversation_key;
  if (rng.chance(0.1)) filters.fromIds = [other.from_id, rng.pick(corpus).from_id];
  if (rng.chance(0.15)) filters.msgtypes = [other.msgtype, rng.pick(TYPES)];
  if (rng.chance(0.2)) {
    const times = [other.msgtime, rng.pick(corpus).msgtime].sort((a, b) => a - b);
    filters.since = times[0];
    // until is exclusive: now and then it leaves out the messages at its own time
    filters.until = times[0] === times[1] || rng.chance(0.5) ? times[1]! + 1 : times[1];
  }
  if (rng.chance(0.15)) filters.external = rng.chance(0.5);
  if (rng.chance(0.15)) filters.hasMedia = rng.chance(0.5);
  return filters as SearchFilters;
}

describeEachDialect('search corpus', ({ open }) => {
  it(`answers ${QUERIES} random queries over ${MESSAGES} messages of every searchable type exactly as a scan does`, async () => {
    const store = await open();
    const seed = testSeed('SEARCH_CORPUS_SEED', 'search corpus');
    await storeCorpus(store, seededRng(seed, 1));
    const corpus = await storedMessages(store.db, CORP);
    expect(corpus.length).toBe(MESSAGES);
    // every type of the corpus has searchable text, and the filters have both sides to tell apart
    for (const type of new Set(TYPES))
      if (type !== 'image')
        expect(
          corpus.some((m) => m.msgtype === type && m.fields.length > 0),
          type,
        ).toBe(true);
    expect(corpus.filter((m) => m.media).length).toBeGreaterThan(MESSAGES / 10);
    expect(corpus.filter((m) => m.external).length).toBeGreaterThan(MESSAGES / 10);
    const indexed = await store.db.selectFrom('search_docs').select('msgid').execute();
    expect(indexed.length).toBe(withText(corpus).length);

    const rng = seededRng(seed, 2);
    let nonEmpty = 0;
    const kinds = { cjk1: 0, cjk2: 0, cjk3: 0, cjk4: 0 };
    for (let n = 0; n < QUERIES; n++) {
      const text = randomQuery(rng, corpus);
      const query = parseSearchQuery(text, randomFilters(rng, corpus));
      for (const term of query.terms) {
        const length = term.units.length;
        if (term.units.every((u) => u.kind === 'cjk') && length <= 4) kinds[`cjk${length}` as keyof typeof kinds] += 1;
      }
      const expected = bruteForce(corpus, query);
      if (expected.length > 0) nonEmpty += 1;
      const limit = rng.pick([25, 100, 1000]);
      const what = `query ${JSON.stringify(text)} ${JSON.stringify(query.filters)} limit ${limit}`;
      expect(await allPages(store.db, store.dialect, query, limit), what).toEqual(expected);
      expect(await countMatches(store.db, store.dialect, EVERYTHING, query, MESSAGES + 1, EVERY_CANDIDATE), what).toEqual({ count: expected.length, atLeast: false });
    }
    // the queries come from the corpus's own text: the comparison is not between empty answers
    expect(nonEmpty).toBeGreaterThan(QUERIES / 2);
    for (const [kind, count] of Object.entries(kinds)) expect(count, kind).toBeGreaterThan(20);
  }, 300_000);
});
