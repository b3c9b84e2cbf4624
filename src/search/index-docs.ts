/**
 * What the index keeps of a message: its facets (facets.ts) and the distinct tokens of its
 * searchable text (tokenize.ts, `distinctIndexTokens`). The index is asked only for messages
 * holding every token of a query (index-plan.ts, `tokenSetAdmits`) and of its filters' facets, so
 * it needs neither positions nor the field gap token; the exact match decides the rest.
 */
import type { SearchDoc } from '../store/dialects/dialect.ts';
import { messageFacets } from './facets.ts';
import type { MessageToIndex } from './index-repository.ts';
import { searchableTextOfRaw } from './searchable-text.ts';
import { distinctIndexTokens } from './tokenize.ts';

/** The distinct index tokens of a stored message (`messages.raw`), in no particular order. */
export function messageTokens(raw: Uint8Array): string[] {
  return distinctIndexTokens(searchableTextOfRaw(raw).map((f) => f.text));
}

/**
 * The index entries of these messages, facets first; a message without searchable text gets none
 * (no search can find it: every query has a term).
 */
export function indexDocs(messages: readonly MessageToIndex[]): SearchDoc[] {
  const docs: SearchDoc[] = [];
  for (const m of messages) {
    const tokens = messageTokens(m.raw);
    if (tokens.length > 0)
      docs.push({ corpid: m.corpid, msgid: m.msgid, conversation_key: m.conversation_key, msgtime: Number(m.msgtime), tokens: [...messageFacets(m), ...tokens] });
  }
  return docs;
}
