import { describe, expect, it } from 'vitest';
import { decodeToken, FIELD_GAP_TOKEN } from './token-codec.ts';
import { indexTokens, distinctIndexTokens, textUnits } from './tokenize.ts';
import { seededRng, testSeed } from '../../test/support/test-seed.ts';

const units = (text: string): Array<[string, string, boolean]> => textUnits(text).map((u) => [u.kind, u.text, u.joined]);
const decoded = (fields: string[]): string[] => indexTokens(fields).map((t) => (t === FIELD_GAP_TOKEN ? '|' : `${decodeToken(t)!.kind[0]}:${decodeToken(t)!.text}`));

describe('normalization', () => {
  it('folds full-width forms and case (NFKC, then lower case)', () => {
    expect(textUnits('ＡＢＣ１２３ Hello　ｱｲ').map((u) => u.text)).toEqual(['abc123', 'hello', 'ア', 'イ']);
    expect(textUnits('ﬁle ① ㈱').map((u) => u.text)).toEqual(['file', '1', '株']);
  });
});

describe('textUnits', () => {
  it('makes words of letters and digits and a unit of each CJK character', () => {
    expect(units('Hello, 世界! v2.0')).toEqual([
      ['word', 'hello', false],
      ['cjk', '世', false],
      ['cjk', '界', true],
      ['word', 'v2', false],
      ['word', '0', false],
    ]);
  });

  it('treats kana, Hangul, astral Han and the prolonged sound mark as CJK', () => {
    const found = textUnits('コーヒー한국𠀀〆');
    expect(found.map((u) => u.text)).toEqual(['コ', 'ー', 'ヒ', 'ー', '한', '국', '𠀀', '〆']);
    expect(new Set(found.map((u) => u.kind))).toEqual(new Set(['cjk']));
  });

  it('separates at emoji and punctuation and marks CJK written together as joined', () => {
    expect(units('好的👌收到，谢谢')).toEqual([
      ['cjk', '好', false],
      ['cjk', '的', true],
      ['cjk', '收', false],
      ['cjk', '到', true],
      ['cjk', '谢', false],
      ['cjk', '谢', true],
    ]);
    expect(units('中文abc')).toEqual([
      ['cjk', '中', false],
      ['cjk', '文', true],
      ['word', 'abc', true],
    ]);
    expect(units('❤️ 👨‍👩‍👧 ok')).toEqual([['word', 'ok', false]]);
  });

  it('keeps combining marks in their word and maps units back to the original text', () => {
    const text = 'Cafe\u0301 ＡＢＣ ㈱';
    const found = textUnits(text);
    expect(found.map((u) => u.text)).toEqual(['café', 'abc', '株']);
    expect(found.map((u) => text.slice(u.start, u.end))).toEqual(['Cafe\u0301', 'ＡＢＣ', '㈱']);
  });

  it('gives astral characters their two code units', () => {
    const text = 'a𠀀b';
    expect(textUnits(text).map((u) => [u.start, u.end])).toEqual([
      [0, 1],
      [1, 3],
      [3, 4],
    ]);
  });
});

describe('indexTokens', () => {
  it('gives each CJK run its bigrams then its unigrams, one token per word, and a gap between fields', () => {
    expect(decoded(['发票抬头 OK', '单'])).toEqual(['b:发票', 'b:票抬', 'b:抬头', 'u:发', 'u:票', 'u:抬', 'u:头', 'w:ok', '|', 'u:单']);
  });

  it('starts a new run after a separator', () => {
    expect(decoded(['中文 字'])).toEqual(['b:中文', 'u:中', 'u:文', 'u:字']);
  });

  it('has no tokens for a field of punctuation and emoji', () => {
    expect(indexTokens(['……！！🎉'])).toEqual([]);
  });
});

describe('distinctIndexTokens', () => {
  const distinctOfStream = (fields: string[], fold?: (ch: string) => string): string[] => [...new Set(indexTokens(fields, fold))].filter((t) => t !== FIELD_GAP_TOKEN).sort();
  const set = (fields: string[], fold?: (ch: string) => string): string[] => {
    const tokens = distinctIndexTokens(fields, fold);
    expect(new Set(tokens).size).toBe(tokens.length);
    return [...tokens].sort();
  };

  it('holds the distinct tokens of the stream, without the field gap', () => {
    expect(set(['发票抬头 OK 发票', '单'])).toEqual(distinctOfStream(['发票抬头 OK 发票', '单']));
    expect(set(['中文abc字', '字中'])).toEqual(distinctOfStream(['中文abc字', '字中']));
    expect(set(['……！！🎉'])).toEqual([]);
    // two long words that share their cut token, once
    expect(set([`${'a'.repeat(100)}x ${'a'.repeat(100)}y`])).toEqual(distinctOfStream([`${'a'.repeat(100)}x ${'a'.repeat(100)}y`]));
    expect(set([`${'a'.repeat(100)}x ${'a'.repeat(100)}y`])).toHaveLength(1);
  });

  it('is the set of the stream for random text of every character class, folded or not', () => {
    const rng = seededRng(testSeed('TOKENIZE_SEED', 'distinctIndexTokens'));
    // CJK, kana, Hangul (whole and jamo), Latin, full-width, digits, combining marks, ligatures,
    // circled numbers, separators, emoji with a variation selector, a character outside the BMP,
    // and a lone surrogate
    const pool = [
      '中',
      '文',
      '字',
      '发',
      '發',
      '票',
      'コ',
      'ー',
      'ヒ',
      '한',
      '국',
      '\u1100',
      '\u1161',
      'a',
      'B',
      'ｚ',
      'Ａ',
      '１',
      '9',
      '\u0301',
      'é',
      'ﬁ',
      '①',
      '㈱',
      ' ',
      '，',
      '-',
      '🎉',
      '\ufe0f',
      '𠀀',
      '\ud800',
      '〆',
    ];
    const fold = (ch: string): string => ({ 發: '发', 国: '國' })[ch] ?? ch;
    for (let i = 0; i < 2_000; i++) {
      const fields = Array.from({ length: 1 + rng.int(3) }, () => Array.from({ length: rng.int(12) }, () => pool[rng.int(pool.length)]).join(''));
      expect(set(fields), JSON.stringify(fields)).toEqual(distinctOfStream(fields));
      expect(set(fields, fold), JSON.stringify(fields)).toEqual(distinctOfStream(fields, fold));
    }
  });
});
