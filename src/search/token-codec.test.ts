import { describe, expect, it } from 'vitest';
import { seededRng, testSeed } from '../../test/support/test-seed.ts';
import { decodeToken, encodeToken, encodeWordPrefix, FIELD_GAP_TOKEN, isWholeInToken, MAX_TOKEN_LENGTH, type TokenKind } from './token-codec.ts';

const SAFE = /^[a-z0-9]{3,84}$/;

describe('token codec', () => {
  it('spells tokens with the documented encoding', () => {
    expect(encodeToken('word', 'release')).toBe('wdrelease');
    expect(encodeToken('word', 'café')).toBe('wdcafz2e9');
    expect(encodeToken('word', 'zoom')).toBe('wdz27aoom');
    expect(encodeToken('unigram', '中')).toBe('c1z44e2d');
    expect(encodeToken('bigram', '中文')).toBe('c2z44e2dz46587');
    expect(encodeToken('unigram', '𠀀')).toBe('c1z520000');
    expect(encodeToken('word', 'a')).toBe('wda');
  });

  it('round-trips random words, characters and pairs from the whole Unicode range', () => {
    const rng = seededRng(testSeed('SEARCH_CODEC_SEED', 'token codec round trip'));
    const kinds: Array<[TokenKind, number]> = [
      ['word', 12],
      ['unigram', 1],
      ['bigram', 2],
    ];
    for (let n = 0; n < 5_000; n++) {
      const [kind, length] = rng.pick(kinds);
      let text = '';
      for (let k = 0; k < (kind === 'word' ? rng.range(1, length) : length); k++) {
        let cp = rng.chance(0.5) ? rng.range(0x20, 0x7e) : rng.range(0x80, 0x10ffff);
        if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x4e00;
        text += String.fromCodePoint(cp);
      }
      const token = encodeToken(kind, text);
      expect(token).toMatch(SAFE);
      expect(decodeToken(token)).toEqual({ kind, text, cut: false });
    }
  });

  it('cuts long words to a marked token that keeps every short prefix and never equals a whole word', () => {
    const long = 'a'.repeat(200);
    const token = encodeToken('word', long);
    expect(token.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(token).toMatch(SAFE);
    expect(decodeToken(token)).toEqual({ kind: 'word', text: 'a'.repeat(80), cut: true });
    expect(token).not.toBe(encodeToken('word', 'a'.repeat(80)));
    expect(token.startsWith(encodeWordPrefix('a'.repeat(80)))).toBe(true);
    expect(token.startsWith(encodeWordPrefix('a'.repeat(150)))).toBe(true);
    expect(encodeToken('word', 'b'.repeat(200))).toBe(encodeToken('word', 'b'.repeat(300)));
    expect(isWholeInToken('a'.repeat(80))).toBe(true);
    expect(isWholeInToken('a'.repeat(81))).toBe(false);
    // 𝒜 (U+1D49C) takes 7 encoded characters: the cut stays on a code point
    const astral = '𝒜'.repeat(30);
    expect(decodeToken(encodeToken('word', astral))).toEqual({ kind: 'word', text: '𝒜'.repeat(11), cut: true });
  });

  it('encodes a word so that it starts with the encoding of each of its prefixes', () => {
    const word = 'zébra中x';
    for (let k = 1; k <= [...word].length; k++) {
      expect(encodeToken('word', word).startsWith(encodeWordPrefix([...word].slice(0, k).join('')))).toBe(true);
    }
  });

  it('refuses strings no token encodes', () => {
    for (const bad of ['', 'wd', 'xx123', 'c1abc', 'c2z44e2d', 'wdz9zzz', 'wdz2', 'wdz2g0', 'wdZ', 'c1z44e2dz44e2d', 'wdz3041', FIELD_GAP_TOKEN]) {
      expect(decodeToken(bad)).toBeUndefined();
    }
    expect(FIELD_GAP_TOKEN).toMatch(SAFE);
  });
});
