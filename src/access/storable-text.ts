import { clip } from '../runtime/clip.ts';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text from a request (a user agent, a reason) as every database stores it: cut to the column's
 * width, then lone surrogates (no database keeps them; a cut can make one) and NUL (PostgreSQL
 * refuses it) become U+FFFD. What is written then reads back the same, which the audit chain's
 * hashes rely on.
 */
export function storableText(text: string | null | undefined, width: number): string | null {
  if (text === undefined || text === null) return null;
  return clip(text, width)
    .replace(LONE_SURROGATE, '\uFFFD')
    .replace(/\u0000/g, '\uFFFD');
}
