/**
 * What simulated people say: Chinese and English chat lines, plus the awkward shapes real archives
 * meet (emoji, astral CJK, quotes and backslashes, line separators, the quote/reply prefixes
 * WeCom clients put before a reply, raw control characters).
 */
import { RawText } from './json-writer.ts';
import { pickWeighted, type Rng } from './prng.ts';

const ZH = [
  '好的，收到',
  '明天上午十点开会，请准时参加',
  '这个方案我再看一下',
  '客户那边反馈说价格有点高',
  '合同已经发给法务审核了',
  '今天下午能把报价单发我吗？',
  '辛苦了！',
  '周报已提交',
  '服务器又报警了，磁盘使用率 92%',
  '麻烦帮忙确认一下发票抬头',
  '我在路上，大概二十分钟到',
  '收到，马上处理',
  '这个需求下周一上线',
  '谢谢老板的红包🧧',
  '[微笑]',
  '[强][强]',
  '中午一起吃饭吗？',
  '项目进度更新：已完成 80%',
  '请查收附件',
  '会议纪要见群公告',
  '明白',
  '稍等，我查一下',
  '已经和供应商沟通过了，周三发货',
  '这个 bug 在测试环境复现不了',
  '大家注意，今晚 22:00 系统维护',
  '好的👌',
  '客户要求把交付日期提前到 3 月 15 日',
  '我觉得可以，按这个来',
  '报销单据请在月底前提交',
  '新版本的安装包在共享盘里',
];
const EN = [
  'OK, got it',
  'Can we move the call to 3pm?',
  'The build is green again',
  'Please review the PR when you have a minute',
  'Thanks! 👍',
  'Invoice #2024-117 attached',
  'Let me check with the customer',
  'LGTM',
  'Heads-up: deploy at 18:00 CST',
  'Sounds good to me',
  'Who owns the on-call this week?',
  'Meeting notes are in the doc',
  'ETA 20 min',
];
/** Strings that trip naive escaping or byte/char confusion. */
const EDGE = [
  'quote " and backslash \\ and </script>',
  'emoji 👨‍👩‍👧‍👦 and astral CJK 𠀀𪚥',
  'line separator\u2028paragraph separator\u2029end',
  'ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ',
  'zero\u200bwidth\u200bjoiner',
  'multi\nline\ntext with\ttab (escaped properly)',
  '路径 C:\\Users\\张三\\Desktop\\报价.xlsx',
  '{"looks":"like json"}',
  'https://work.weixin.qq.com/?a=1&b=2#frag',
];
/** Control characters WeCom has been seen to leave raw in JSON strings. */
const RAW_CONTROLS = ['\u0001', '\u0011', '\u0012', '\u0013', '\u0014', '\t', '\n'];

export function chatLine(rng: Rng, lang: 'zh' | 'en'): string {
  return lang === 'en' || rng.chance(0.1) ? rng.pick(EN) : rng.pick(ZH);
}

/** A sentence of 1–3 chat lines. */
export function sentence(rng: Rng, lang: 'zh' | 'en'): string {
  const n = rng.range(1, 3);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(chatLine(rng, lang));
  return parts.join(lang === 'en' ? ' ' : '，');
}

export type TextVariant = 'plain' | 'mention' | 'long' | 'edge' | 'quote-zh' | 'quote-en' | 'quote-wechat' | 'raw-control';

/**
 * The `content` of a text message. `raw-control` returns RawText: its control characters are
 * written unescaped, like real WeCom data.
 */
export function textContent(rng: Rng, variant: TextVariant, lang: 'zh' | 'en', names: { quoted: string; mention: string }): string | RawText {
  switch (variant) {
    case 'plain':
      return sentence(rng, lang);
    case 'mention':
      return `@${names.mention} ${sentence(rng, lang)}`;
    case 'long': {
      const lines: string[] = [];
      const n = rng.range(20, 80);
      for (let i = 0; i < n; i++) lines.push(`${i + 1}. ${sentence(rng, lang)}`);
      return lines.join('\n');
    }
    case 'edge':
      return rng.pick(EDGE);
    case 'quote-zh':
      // a Chinese client prefixes 这是一条引用/回复消息：, then the quoted sender and text in quotes,
      // six dashes, and the reply, as real archives show
      return `这是一条引用/回复消息：\n${rng.chance(0.5) ? '"' : '“'}${names.quoted}：\n${chatLine(rng, 'zh')}${rng.chance(0.5) ? '"' : '”'}\n------\n@${names.quoted} ${chatLine(rng, 'zh')}`;
    case 'quote-en':
      return `This is a quote/reply:\n"${names.quoted}:\n${chatLine(rng, 'en')}"\n------\n${chatLine(rng, 'en')}`;
    case 'quote-wechat':
      return `「${names.quoted}：${chatLine(rng, lang)}」\n- - - - - - - - - - - - - - -\n${chatLine(rng, lang)}`;
    case 'raw-control': {
      const a = chatLine(rng, lang);
      const b = chatLine(rng, lang);
      return new RawText(`${a}${rng.pick(RAW_CONTROLS)}${b}${rng.pick(RAW_CONTROLS)}end\n`);
    }
  }
}

const TEXT_VARIANTS: readonly TextVariant[] = ['plain', 'mention', 'long', 'edge', 'quote-zh', 'quote-en', 'quote-wechat', 'raw-control'];
const TEXT_VARIANT_WEIGHTS = [62, 10, 2, 5, 7, 3, 3, 8];
const TEXT_VARIANT_TOTAL = TEXT_VARIANT_WEIGHTS.reduce((a, b) => a + b, 0);

export function pickTextVariant(rng: Rng): TextVariant {
  return TEXT_VARIANTS[pickWeighted(rng, TEXT_VARIANT_WEIGHTS, TEXT_VARIANT_TOTAL)] as TextVariant;
}

export const FILE_NAMES: Readonly<Record<string, readonly string[]>> = {
  pdf: ['合同草案v3.pdf', '产品白皮书.pdf', 'Q3 Report.pdf', '欢迎使用微盘.pdf.pdf', '发票-2024-0117.pdf'],
  docx: ['资料.docx', '会议纪要 2024-03-01.docx', '需求说明书.docx', 'Proposal (final) (2).docx'],
  xlsx: ['报价单.xlsx', '销售数据-华东区.xlsx', 'budget_2025.xlsx'],
  zip: ['设计稿.zip', 'logs-20240301.zip', '安装包 v2.3.1.zip'],
  dat: ['core.dump', '.sys.log', 'backup.bin'],
};
