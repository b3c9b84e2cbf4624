/**
 * Index tokens as ASCII strings every full-text index here keeps whole: SQLite FTS5 (unicode61),
 * PostgreSQL tsvector (the `simple` parser reads them as one word) and MariaDB InnoDB FULLTEXT
 * (which ignores tokens shorter than 3 characters or longer than 84, and has stop words).
 *
 * A token is a two-character tag and the encoded text:
 *   `wd` word, `c1` CJK unigram (one character), `c2` CJK bigram (two characters).
 * The text is encoded code point by code point: a–y and 0–9 stand for themselves; any other code
 * point (z included) is `z`, the number of hex digits (2–6), and its hex value. 中 (U+4E2D) is
 * `z44e2d`, so the unigram 中 is `c1z44e2d` and the word "café" is `wdcafz2e9`. Only [a-z0-9] appear, so no tokenizer splits a token, none is shorter than 3
 * characters, and no stop word starts with a tag. The code is prefix-free and the same for every
 * code point wherever it stands, so a word's encoding starts with the encoding of each of its
 * prefixes: a prefix query on the encoded prefix finds exactly the words with that prefix.
 *
 * A word whose token would be longer than MAX_TOKEN_LENGTH (InnoDB's limit) is cut at a code point
 * to WORD_PREFIX_LENGTH encoded characters and marked with `z0`, which no code point encodes: a cut
 * token never equals the token of a whole word, and still starts with the encoding of each of the
 * word's prefixes up to that length. Long words sharing their first ~80 characters share a token;
 * the exact match tells them apart.
 */

import { createHash } from 'node:crypto';
import { BoundedMemo } from '../runtime/bounded-memo.ts';

export type TokenKind = 'word' | 'unigram' | 'bigram';

/**
 * Facet tokens name what a message is, not what it says, so that the index can narrow a search by
 * its filters as it narrows by its terms: `cv` the conversation and `fr` the sender (each as the
 * first 20 hex digits of the SHA-256 of its key: keys hold any character, and the filter is checked
 * exactly in SQL anyway), `dy` the UTC day (`dy20261204`) and `mo` the UTC month (`mo202612`).
 * No text ever encodes to these tags (text tokens are `wd`, `c1`, `c2`), so a word never meets a
 * facet.
 */
export type FacetKind = 'conversation' | 'sender' | 'day' | 'month';

const FACET_TAGS: Readonly<Record<FacetKind, string>> = { conversation: 'cv', sender: 'fr', day: 'dy', month: 'mo' };

const TAGS: Readonly<Record<TokenKind, string>> = { word: 'wd', unigram: 'c1', bigram: 'c2' };
const KIND_OF_TAG: ReadonlyMap<string, TokenKind> = new Map(Object.entries(TAGS).map(([kind, tag]) => [tag, kind as TokenKind]));

/** InnoDB's default innodb_ft_max_token_size: longer tokens would not be indexed at all. */
export const MAX_TOKEN_LENGTH = 84;

/**
 * Stands between the tokens of two fields in a token stream, so that the last token of one field
 * and the first of the next are never at neighbouring positions (a phrase cannot span them). It is
 * not a valid token (no tag), and never matches one.
 */
export const FIELD_GAP_TOKEN = 'fgap';

function isLiteral(cp: number): boolean {
  return (cp >= 0x61 && cp <= 0x79) || (cp >= 0x30 && cp <= 0x39);
}

function encodeCodePoint(cp: number): string {
  if (isLiteral(cp)) return String.fromCharCode(cp);
  const hex = cp.toString(16).padStart(2, '0');
  return `z${hex.length}${hex}`;
}

/** The encoded text, cut at a code point to at most `max` characters; `whole` when nothing was cut. */
function encodeText(text: string, max: number): { encoded: string; whole: boolean } {
  let encoded = '';
  for (const ch of text) {
    const code = encodeCodePoint(ch.codePointAt(0)!);
    if (encoded.length + code.length > max) return { encoded, whole: false };
    encoded += code;
  }
  return { encoded, whole: true };
}

/** Marks a word token that holds only the start of its word. */
const CUT_MARK = 'z0';
/** Encoded characters of a word that a cut token keeps (also the longest prefix a prefix query uses). */
export const WORD_PREFIX_LENGTH = MAX_TOKEN_LENGTH - 2 - CUT_MARK.length;

/** The index token of a normalized word, CJK character or CJK character pair. */
export function encodeToken(kind: TokenKind, text: string): string {
  const tag = TAGS[kind];
  const { encoded, whole } = encodeText(text, MAX_TOKEN_LENGTH - tag.length);
  return whole ? tag + encoded : tag + encodeText(text, WORD_PREFIX_LENGTH).encoded + CUT_MARK;
}

/** Each code point's encoding, for the unigrams and bigrams of every message indexed (CJK text uses a few thousand characters). */
const codePointCodes = new BoundedMemo<number, string>(65_536);

function codePointCode(cp: number): string {
  return codePointCodes.get(cp, encodeCodePoint);
}

/** `encodeToken('unigram', ch)` for the code point of one normalized CJK character, from the encodings remembered. */
export function unigramToken(cp: number): string {
  return TAGS.unigram + codePointCode(cp);
}

/** `encodeToken('bigram', a + b)` for the code points of two normalized CJK characters (never cut: at most 18 characters). */
export function bigramToken(a: number, b: number): string {
  return TAGS.bigram + codePointCode(a) + codePointCode(b);
}

/** The facet token of a conversation key or sender id (hashed), or of a day or month written as digits. */
export function encodeFacet(kind: FacetKind, value: string): string {
  const tag = FACET_TAGS[kind];
  if (kind === 'day' || kind === 'month') {
    if (!/^\d+$/.test(value)) throw new Error(`a ${kind} facet is digits, not ${JSON.stringify(value)}`);
    return tag + value;
  }
  return tag + createHash('sha256').update(value).digest('hex').slice(0, 20);
}

/**
 * What a word token starts with when its word starts with `prefix`, for prefix queries: the
 * encoded prefix, itself cut to WORD_PREFIX_LENGTH.
 */
export function encodeWordPrefix(prefix: string): string {
  return TAGS.word + encodeText(prefix, WORD_PREFIX_LENGTH).encoded;
}

/**
 * True when a word (or prefix) is short enough that its token holds all of it: then a message has
 * the word exactly when it has the token (or, for a prefix, a token starting with it).
 */
export function isWholeInToken(word: string): boolean {
  return encodeText(word, WORD_PREFIX_LENGTH).whole;
}

function decodeText(encoded: string): string | undefined {
  let out = '';
  for (let i = 0; i < encoded.length;) {
    const c = encoded.charCodeAt(i);
    if (isLiteral(c)) {
      out += encoded[i];
      i += 1;
      continue;
    }
    const digits = Number(encoded[i + 1]);
    const hex = encoded.slice(i + 2, i + 2 + digits);
    if (c !== 0x7a || !(digits >= 2 && digits <= 6) || !/^[0-9a-f]+$/.test(hex) || hex.length !== digits) return undefined;
    const cp = parseInt(hex, 16);
    if (cp > 0x10ffff || encodeCodePoint(cp) !== encoded.slice(i, i + 2 + digits)) return undefined;
    out += String.fromCodePoint(cp);
    i += 2 + digits;
  }
  return out;
}

/**
 * The kind and text of an index token, or undefined for a string that no token encodes. `cut`
 * says the text is only the start of a longer word.
 */
export function decodeToken(token: string): { kind: TokenKind; text: string; cut: boolean } | undefined {
  const kind = KIND_OF_TAG.get(token.slice(0, 2));
  const cut = kind === 'word' && token.endsWith(CUT_MARK);
  const text = kind === undefined ? undefined : decodeText(token.slice(2, cut ? -CUT_MARK.length : undefined));
  if (kind === undefined || text === undefined || text === '') return undefined;
  const length = [...text].length;
  if ((kind === 'unigram' && length !== 1) || (kind === 'bigram' && length !== 2)) return undefined;
  return { kind, text, cut };
}
