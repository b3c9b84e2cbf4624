/**
 * What a full-text index is asked for a query: per term, chains of tokens that a matching message
 * must contain. The plan is implied by the exact match (match.ts): every message that matches the
 * query has every required chain, so the index never misses; it may return more, which the exact
 * match then removes.
 *
 * Per term, from its units (see tokenize.ts for the token stream of a message):
 *   - a run of consecutive words → one chain of word tokens at consecutive positions (the last
 *     one a prefix when the term ends in `word*`);
 *   - a run of CJK characters written together, 2 or more → the chain of its bigrams, at
 *     consecutive positions;
 *   - a single CJK character → its unigram.
 * An index without positions may ignore the chain order and require each token (the
 * `tokenSetAdmits` semantics); one with positions may require the chains as phrases.
 */
import type { QueryTerm, QueryUnit, SearchQuery } from './query.ts';
import { encodeToken, encodeWordPrefix, isWholeInToken } from './token-codec.ts';
import { bigramTokens, groupUnits } from './tokenize.ts';

export interface TokenChain {
  /** index tokens, to appear in this order at consecutive positions */
  readonly tokens: readonly string[];
  /** the last token is a prefix: any token starting with it */
  readonly prefix: boolean;
}

export interface TermPlan {
  readonly chains: readonly TokenChain[];
  /**
   * True when a message has the term if and only if it has the plan's single token: such a term
   * can be excluded by the index itself. Other excluded terms must be checked by the exact match.
   */
  readonly exact: boolean;
}

export interface IndexPlan {
  readonly required: readonly TermPlan[];
  readonly excluded: readonly TermPlan[];
}

function wordChain(words: readonly QueryUnit[]): TokenChain {
  const prefix = words[words.length - 1]!.prefix;
  return { tokens: words.map((w) => (w.prefix ? encodeWordPrefix(w.text) : encodeToken('word', w.text))), prefix };
}

function cjkChain(run: readonly QueryUnit[]): TokenChain {
  return { tokens: run.length === 1 ? [encodeToken('unigram', run[0]!.text)] : bigramTokens(run), prefix: false };
}

function planTerm(term: QueryTerm): TermPlan {
  const chains: TokenChain[] = [];
  let words: QueryUnit[] = [];
  const flushWords = (): void => {
    if (words.length > 0) chains.push(wordChain(words));
    words = [];
  };
  for (const group of groupUnits(term.units)) {
    if (group.kind === 'word') {
      words.push(group.unit);
      continue;
    }
    flushWords();
    chains.push(cjkChain(group.run));
  }
  flushWords();
  // one token decides: a whole word or prefix, one CJK character, or two written together
  const single = chains.length === 1 && chains[0]!.tokens.length === 1;
  const exact = single && term.units.every((u) => u.kind === 'cjk' || isWholeInToken(u.text));
  return { chains, exact };
}

/** The index query for `query` (see the module comment). */
export function planIndexQuery(query: SearchQuery): IndexPlan {
  return {
    required: query.terms.filter((t) => !t.exclude).map(planTerm),
    excluded: query.terms.filter((t) => t.exclude).map(planTerm),
  };
}

function hasToken(tokens: ReadonlySet<string>, token: string, prefix: boolean): boolean {
  if (!prefix) return tokens.has(token);
  for (const t of tokens) if (t.startsWith(token)) return true;
  return false;
}

function chainInSet(tokens: ReadonlySet<string>, chain: TokenChain): boolean {
  return chain.tokens.every((t, k) => hasToken(tokens, t, chain.prefix && k === chain.tokens.length - 1));
}

/**
 * What an index without positions returns: the messages whose token set holds every token of
 * every required chain and no exact excluded term's token.
 */
export function tokenSetAdmits(tokens: ReadonlySet<string>, plan: IndexPlan): boolean {
  const required = plan.required.every((term) => term.chains.every((chain) => chainInSet(tokens, chain)));
  return required && !plan.excluded.some((term) => term.exact && term.chains.every((chain) => chainInSet(tokens, chain)));
}

function chainAt(stream: readonly string[], at: number, chain: TokenChain): boolean {
  return chain.tokens.every((t, k) => {
    const token = stream[at + k];
    return token !== undefined && (chain.prefix && k === chain.tokens.length - 1 ? token.startsWith(t) : token === t);
  });
}

/**
 * What an index with positions returns: the messages whose token stream (tokenize.ts indexTokens)
 * holds every required chain at consecutive positions, and no exact excluded term's token.
 */
export function tokenStreamAdmits(stream: readonly string[], plan: IndexPlan): boolean {
  const has = (chain: TokenChain): boolean => stream.some((_, at) => chainAt(stream, at, chain));
  const required = plan.required.every((term) => term.chains.every(has));
  return required && !plan.excluded.some((term) => term.exact && term.chains.every(has));
}
