/**
 * Property test of the whole search core on random data: what a full-text index returns for the
 * plan (with or without positions) always contains the exact answer, and the exact answer, for
 * queries simple enough to check independently, is what a brute-force scan of the normalized text
 * finds. Replay a failure with SEARCH_PROPERTY_SEED.
 */
import { describe, expect, it } from 'vitest';
import { seededRng, testSeed } from '../../test/support/test-seed.ts';
import type { Rng } from '../simulator/core/prng.ts';
import { planIndexQuery, tokenSetAdmits, tokenStreamAdmits } from './index-plan.ts';
import { matchesQuery } from './match.ts';
import { parseSearchQuery } from './query.ts';
import { indexTokens } from './tokenize.ts';

const CJK = [...'中文报价单合同草案会'];
const WORDS = ['abc', 'abd', 'ab', 'release', 'Notes', 'ＡＢＣ', 'v2', '2024', 'bug'];
const SEPARATORS = [' ', '，', '。', '🎉', '👍🏻', '-', '"', '\n', '*'];
const MESSAGES = 1_200;
const QUERIES = 250;

function randomField(rng: Rng): string {
  let text = '';
  const pieces = rng.range(0, 14);
  for (let i = 0; i < pieces; i++) {
    const roll = rng.float();
    if (roll < 0.5) text += rng.pick(CJK);
    else if (roll < 0.75) text += rng.pick(WORDS);
    else text += rng.pick(SEPARATORS);
  }
  return text;
}

function randomMessage(rng: Rng): string[] {
  return Array.from({ length: rng.range(1, 4) }, () => randomField(rng));
}

/** A term checked independently of the tokenizer: a CJK string or a lower-case ASCII word (prefix). */
type SimpleTerm = { kind: 'cjk'; text: string } | { kind: 'word'; text: string; prefix: boolean };

function randomSimpleTerm(rng: Rng): SimpleTerm {
  if (rng.chance(0.6)) return { kind: 'cjk', text: Array.from({ length: rng.range(1, 4) }, () => rng.pick(CJK)).join('') };
  const word = rng.pick(WORDS).normalize('NFKC').toLowerCase();
  return rng.chance(0.3) ? { kind: 'word', text: word.slice(0, rng.range(1, word.length)), prefix: true } : { kind: 'word', text: word, prefix: false };
}

function termSyntax(term: SimpleTerm): string {
  return term.kind === 'word' && term.prefix ? `${term.text}*` : term.text;
}

/** The brute-force answer over fields normalized as a whole: CJK by substring, words by splitting. */
function bruteForceHas(normalizedFields: readonly string[], term: SimpleTerm): boolean {
  return normalizedFields.some((text) => {
    if (term.kind === 'cjk') return text.includes(term.text);
    const words = text.split(/[^a-z0-9]+/);
    return words.some((w) => (term.prefix ? w.startsWith(term.text) && w !== '' : w === term.text));
  });
}

/** Phrases and mixed terms, which only the exact matcher decides. */
function randomPhrase(rng: Rng): string {
  const parts = Array.from({ length: rng.range(2, 3) }, () => (rng.chance(0.5) ? rng.pick(CJK) + (rng.chance(0.5) ? rng.pick(CJK) : '') : rng.pick(WORDS)));
  return rng.chance(0.5) ? `"${parts.join(' ')}"` : parts.join('');
}

describe('search core on random messages and queries', () => {
  const seed = testSeed('SEARCH_PROPERTY_SEED', 'search property test');
  const rng = seededRng(seed);
  const messages = Array.from({ length: MESSAGES }, () => randomMessage(rng));
  const streams = messages.map((fields) => indexTokens(fields));
  const tokenSets = streams.map((s) => new Set(s));
  const normalized = messages.map((fields) => fields.map((f) => f.normalize('NFKC').toLowerCase()));
  /** one assertion per failing message, not one per message: hundreds of thousands of checks */
  const failures: string[] = [];
  const fail = (what: string, text: string, fields: readonly string[]): void => {
    failures.push(`${what}: seed ${seed}, query ${JSON.stringify(text)}, fields ${JSON.stringify(fields)}`);
  };

  it('never misses: the index candidates contain every exact match, and the exact match equals brute force', () => {
    let hits = 0;
    let narrowed = 0;
    for (let q = 0; q < QUERIES; q++) {
      const included = Array.from({ length: rng.range(1, 3) }, () => randomSimpleTerm(rng));
      const excluded = rng.chance(0.4) ? [randomSimpleTerm(rng)] : [];
      const text = [...included.map(termSyntax), ...excluded.map((t) => `-${termSyntax(t)}`)].join(' ');
      const query = parseSearchQuery(text);
      const plan = planIndexQuery(query);
      messages.forEach((fields, m) => {
        const exact = matchesQuery(fields, query);
        const brute = included.every((t) => bruteForceHas(normalized[m]!, t)) && !excluded.some((t) => bruteForceHas(normalized[m]!, t));
        const admitted = tokenSetAdmits(tokenSets[m]!, plan);
        if (exact !== brute) fail(`exact ${exact}, brute force ${brute}`, text, fields);
        if (exact && !(admitted && tokenStreamAdmits(streams[m]!, plan))) fail('index missed a match', text, fields);
        if (exact) hits++;
        if (!admitted) narrowed++;
      });
    }
    expect(failures.slice(0, 5)).toEqual([]);
    // the data must exercise both sides: some matches, and candidates the index rules out
    expect(hits).toBeGreaterThan(QUERIES);
    expect(narrowed).toBeGreaterThan(QUERIES * MESSAGES * 0.3);
  });

  it('never misses a phrase or a mixed term either', () => {
    let hits = 0;
    for (let q = 0; q < QUERIES; q++) {
      const text = `${randomPhrase(rng)}${rng.chance(0.3) ? ` -${randomPhrase(rng)}` : ''}`;
      const query = parseSearchQuery(text);
      const plan = planIndexQuery(query);
      messages.forEach((fields, m) => {
        if (!matchesQuery(fields, query)) return;
        hits++;
        if (!(tokenSetAdmits(tokenSets[m]!, plan) && tokenStreamAdmits(streams[m]!, plan))) fail('index missed a match', text, fields);
      });
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(hits).toBeGreaterThan(0);
  });
});
