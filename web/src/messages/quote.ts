/**
 * Quoted replies. WeCom stores a reply as plain text with the quote in front, in one of two forms:
 * the archive's own (a Chinese or English header line, the quoted sender and text in quotes, six
 * dashes) and WeChat's (「sender：text」 and a dashed rule).
 */
export interface ParsedQuote {
  user: string;
  quote: string;
  content: string;
}

const ARCHIVE_FORM = /^(?:这是一条引用\/回复消息[:：]|This is a quote\/reply:)\n["“](?<user>[^\n]+?)[:：]\s?\n(?<quote>.*?)[”"]\n-{6}\n(?<content>.*)$/s;
const WECHAT_FORM = /^「(?<user>[^\n:：]+)[:：]\n?(?<quote>.*?)」\n-(?: -){14}\n(?<content>.+)$/s;

export function parseQuote(text: string): ParsedQuote | undefined {
  const m = ARCHIVE_FORM.exec(text) ?? WECHAT_FORM.exec(text);
  if (!m?.groups) return undefined;
  return { user: m.groups.user ?? '', quote: m.groups.quote ?? '', content: m.groups.content ?? '' };
}
