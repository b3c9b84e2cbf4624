/**
 * How text is cut into searchable units, the same for the index, the query and the exact matcher.
 *
 * Normalization: NFKC, then lower case, so full-width ＡＢＣ１２３ reads as abc123 and a half-width
 * ｱ as ア. It is applied per segment (one code point with the combining marks and Hangul vowel or
 * final jamo that follow it), which keeps a map from every normalized character back to the
 * original text: snippets highlight the text as it was written.
 *
 * Each normalized code point is one of three classes, decided by the code point alone:
 * - CJK (Han with its extensions, Hiragana, Katakana, Hangul, Bopomofo, and the marks ー 〆 〱–〵):
 *   every character is a unit of its own;
 * - word (any other letter, digit or combining mark): a maximal run of them is one word unit;
 * - separator (spaces, punctuation, symbols, emoji, variation selectors): not searchable.
 * Because the class never depends on the neighbours, a run of CJK characters in a query is found
 * in a field exactly when the field's normalized text contains it.
 */

import { BoundedMemo } from '../runtime/bounded-memo.ts';
import { bigramToken, encodeToken, FIELD_GAP_TOKEN, unigramToken } from './token-codec.ts';

export type UnitKind = 'word' | 'cjk';

/** One searchable unit of a text: a whole word, or one CJK character. */
export interface TextUnit {
  readonly kind: UnitKind;
  /** normalized (NFKC, lower case) */
  readonly text: string;
  /** true when no separator stands between this unit and the one before it */
  readonly joined: boolean;
  /** where the unit is in the original text: UTF-16 offsets, end exclusive */
  readonly start: number;
  readonly end: number;
}

type CharClass = 'word' | 'cjk' | 'separator';

/**
 * An optional extra folding of each normalized character, applied after NFKC and lower case, e.g.
 * traditional to simplified Chinese (opencc-js's t2s character map) so that 發票 finds 发票. The
 * index, the query and the exact match must use the same fold: the query carries it (query.ts),
 * and the index stage passes the same one to indexTokens. None by default.
 */
export type CharacterFold = (normalizedChar: string) => string;

const CJK_SCRIPT = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}]/u;
const LETTER_DIGIT_MARK = /[\p{L}\p{N}\p{Mn}\p{Mc}]/u;
/** Katakana-Hiragana prolonged sound mark, 〆, and the vertical kana repeat marks: Common script, used only inside CJK words. */
const CJK_EXTRA = /[\u30fc\u3006\u3031-\u3035]/u;
/** Variation selectors select a glyph (emoji or text style); they carry no letter. */
const VARIATION_SELECTOR = /[\ufe00-\ufe0f\u{e0100}-\u{e01ef}]/u;
/** Code points that belong to the segment of the code point before them. */
const ATTACHED = /[\p{M}\u1160-\u11ff\ud7b0-\ud7ff]/u;

const classes = new BoundedMemo<number, CharClass>(65_536);

function classifyUncached(cp: number): CharClass {
  const ch = String.fromCodePoint(cp);
  if (VARIATION_SELECTOR.test(ch)) return 'separator';
  if (CJK_EXTRA.test(ch)) return 'cjk';
  if (!LETTER_DIGIT_MARK.test(ch)) return 'separator';
  return CJK_SCRIPT.test(ch) ? 'cjk' : 'word';
}

/** The class of one normalized code point (see the module comment). */
export function classifyCodePoint(cp: number): CharClass {
  if (cp < 0x80) return (cp >= 0x61 && cp <= 0x7a) || (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) ? 'word' : 'separator';
  if (cp >= 0x4e00 && cp <= 0x9fff) return 'cjk';
  return classes.get(cp, classifyUncached);
}

const attached = new BoundedMemo<number, boolean>(65_536);

function isAttachedUncached(cp: number): boolean {
  return ATTACHED.test(String.fromCodePoint(cp));
}

function isAttached(cp: number): boolean {
  if (cp < 0x300 || (cp >= 0x4e00 && cp <= 0x9fff)) return false;
  return attached.get(cp, isAttachedUncached);
}

/** End (exclusive) of the segment that starts at `i`: one code point and what attaches to it. */
function segmentEnd(text: string, i: number): number {
  let j = i + (text.codePointAt(i)! > 0xffff ? 2 : 1);
  while (j < text.length) {
    const cp = text.codePointAt(j)!;
    if (!isAttached(cp)) break;
    j += cp > 0xffff ? 2 : 1;
  }
  return j;
}

function normalizeSegment(segment: string): string {
  if (segment.length === 1) {
    const c = segment.charCodeAt(0);
    if (c < 0x80) return c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : segment;
    if (c >= 0x4e00 && c <= 0x9fff) return segment;
  }
  return segment.normalize('NFKC').toLowerCase();
}

/** Builds the units of one text: words grow character by character, CJK characters stand alone. */
class UnitBuilder {
  readonly units: TextUnit[] = [];
  private word = '';
  private wordStart = 0;
  private wordEnd = 0;
  private wordJoined = false;
  /** the last character seen was part of a unit (no separator since) */
  private adjacent = false;

  add(cls: CharClass, ch: string, start: number, end: number): void {
    if (cls === 'word') {
      if (this.word === '') {
        this.wordStart = start;
        this.wordJoined = this.adjacent;
      }
      this.word += ch;
      this.wordEnd = end;
      this.adjacent = true;
      return;
    }
    this.flushWord();
    if (cls === 'cjk') this.units.push({ kind: 'cjk', text: ch, joined: this.adjacent, start, end });
    this.adjacent = cls === 'cjk';
  }

  flushWord(): void {
    if (this.word === '') return;
    this.units.push({ kind: 'word', text: this.word, joined: this.wordJoined, start: this.wordStart, end: this.wordEnd });
    this.word = '';
  }
}

/**
 * The searchable units of `text`, in order, with their place in the original text. A normalized
 * character that came from a segment spans that whole segment (㈱ gives the unit 株 spanning ㈱).
 */
export function textUnits(text: string, fold?: CharacterFold): TextUnit[] {
  const builder = new UnitBuilder();
  forEachCharacter(text, fold, builder);
  builder.flushWord();
  return builder.units;
}

/** Hears each normalized character of a text, its class, and the segment of the text it came from. */
interface CharacterSink {
  add(cls: CharClass, ch: string, start: number, end: number): void;
}

/** Normalizes `text` segment by segment (see the module comment) and hands each character to `sink`. */
function forEachCharacter(text: string, fold: CharacterFold | undefined, sink: CharacterSink): void {
  for (let i = 0; i < text.length;) {
    const end = segmentEnd(text, i);
    const segment = normalizeSegment(text.slice(i, end));
    const normalized = fold ? [...segment].map(fold).join('') : segment;
    if (normalized.length === 1) sink.add(classifyCodePoint(normalized.charCodeAt(0)), normalized, i, end);
    else for (const ch of normalized) sink.add(classifyCodePoint(ch.codePointAt(0)!), ch, i, end);
    i = end;
  }
}

/** A word, or a maximal run of joined CJK units (a stretch of CJK text with no separator inside). */
export type UnitGroup<U extends Pick<TextUnit, 'kind' | 'joined'>> = { readonly kind: 'word'; readonly unit: U } | { readonly kind: 'cjk'; readonly run: readonly U[] };

/** The units in order, with CJK units gathered into runs. */
export function groupUnits<U extends Pick<TextUnit, 'kind' | 'joined'>>(units: readonly U[]): UnitGroup<U>[] {
  const groups: UnitGroup<U>[] = [];
  let run: U[] = [];
  for (const unit of units) {
    if (unit.kind === 'cjk' && unit.joined && run.length > 0) {
      run.push(unit);
      continue;
    }
    if (run.length > 0) groups.push({ kind: 'cjk', run });
    run = [];
    if (unit.kind === 'cjk') run.push(unit);
    else groups.push({ kind: 'word', unit });
  }
  if (run.length > 0) groups.push({ kind: 'cjk', run });
  return groups;
}

/** The bigram tokens of a CJK run, in order (none for a single character). */
export function bigramTokens(run: readonly Pick<TextUnit, 'text'>[]): string[] {
  const tokens: string[] = [];
  for (let i = 0; i + 1 < run.length; i++) tokens.push(encodeToken('bigram', run[i]!.text + run[i + 1]!.text));
  return tokens;
}

/**
 * The index tokens of a message's fields, as one stream: a token's position is its index. Within a
 * field: each word is one token; each CJK run gives its bigrams in order, then its unigrams in order
 * (so the bigrams of any stretch of the run sit at consecutive positions); FIELD_GAP_TOKEN stands
 * between fields. Two words with only separators between them are at consecutive positions.
 * Joined with spaces, the stream is the document to give FTS5, to_tsvector('simple', …) or FULLTEXT.
 */
export function indexTokens(fields: readonly string[], fold?: CharacterFold): string[] {
  const stream: string[] = [];
  fields.forEach((field, f) => {
    if (f > 0) stream.push(FIELD_GAP_TOKEN);
    appendFieldTokens(textUnits(field, fold), stream);
  });
  return stream;
}

/**
 * The distinct index tokens of a message's fields, in no particular order: the tokens of
 * indexTokens' stream but FIELD_GAP_TOKEN, each once, which is what an index without positions
 * keeps. Built straight from the characters, without units or a stream, as the index stage does it
 * for every message.
 */
export function distinctIndexTokens(fields: readonly string[], fold?: CharacterFold): string[] {
  const builder = new TokenSetBuilder();
  for (const field of fields) {
    forEachCharacter(field, fold, builder);
    builder.endField();
  }
  return builder.tokens();
}

/**
 * Collects tokens as UnitBuilder and appendFieldTokens would make them: a word per run of word
 * characters, a unigram per CJK character, a bigram per two joined ones. CJK characters are kept as
 * code points (a bigram as one number) until the end, so each distinct one is encoded once.
 */
class TokenSetBuilder implements CharacterSink {
  private readonly words = new Set<string>();
  private readonly unigrams = new Set<number>();
  private readonly bigrams = new Set<number>();
  private word = '';
  /** the CJK code point just before, when nothing stands between it and the next character; -1 when none */
  private cjkBefore = -1;

  add(cls: CharClass, ch: string): void {
    if (cls === 'word') {
      this.word += ch;
      this.cjkBefore = -1;
      return;
    }
    this.flushWord();
    if (cls === 'cjk') {
      const cp = ch.codePointAt(0)!;
      this.unigrams.add(cp);
      if (this.cjkBefore >= 0) this.bigrams.add(this.cjkBefore * CODE_POINTS + cp);
      this.cjkBefore = cp;
    } else {
      this.cjkBefore = -1;
    }
  }

  endField(): void {
    this.flushWord();
    this.cjkBefore = -1;
  }

  /** Distinct: the encoding tells kinds apart by their tags and characters apart by their codes, and only long words can share a (cut) token. */
  tokens(): string[] {
    const tokens: string[] = [];
    for (const pair of this.bigrams) tokens.push(bigramToken(Math.floor(pair / CODE_POINTS), pair % CODE_POINTS));
    for (const cp of this.unigrams) tokens.push(unigramToken(cp));
    const words = new Set<string>();
    for (const word of this.words) words.add(encodeToken('word', word));
    tokens.push(...words);
    return tokens;
  }

  private flushWord(): void {
    if (this.word === '') return;
    this.words.add(this.word);
    this.word = '';
  }
}

/** How many code points there are: a pair (a, b) is the number a * CODE_POINTS + b, exact in a double. */
const CODE_POINTS = 0x110000;

function appendFieldTokens(units: readonly TextUnit[], stream: string[]): void {
  for (const group of groupUnits(units)) {
    if (group.kind === 'word') {
      stream.push(encodeToken('word', group.unit.text));
      continue;
    }
    stream.push(...bigramTokens(group.run));
    for (const unit of group.run) stream.push(encodeToken('unigram', unit.text));
  }
}
