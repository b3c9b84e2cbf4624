/**
 * `from:X` in a search query: the sender filter written into the query, as `--from X` (and the
 * HTTP API's `from`) give it beside the query. `from:张三`, `from:zs`, `from:"John Smith"`. The
 * edge takes these out before parsing the rest (query.ts) and resolves each X through the
 * directory: X is a person to look up, not text, so it is never searched for in messages.
 *
 * Only a whole term that starts with `from:` (any case; a full-width colon too) counts; `-from:X`
 * and `"from:X"` stay text, and so does a bare `from:` with nothing after it.
 */

export interface SenderTerms {
  /** the query without its `from:` terms */
  readonly rest: string;
  /** each `from:` term's X, in order */
  readonly senders: readonly string[];
}

const FROM = /^from:/i;

/** Splits `from:X` terms off a query (see the module comment). */
export function takeSenderTerms(query: string): SenderTerms {
  const text = query.normalize('NFKC');
  const senders: string[] = [];
  let rest = '';
  let i = 0;
  while (i < text.length) {
    const atTermStart = i === 0 || /\s/u.test(text[i - 1]!);
    if (atTermStart && FROM.test(text.slice(i, i + 5))) {
      const valueAt = i + 5;
      const close = text[valueAt] === '"' ? text.indexOf('"', valueAt + 1) : -1;
      let end = valueAt;
      if (close > valueAt) end = close + 1;
      else while (end < text.length && !/\s/u.test(text[end]!)) end++;
      const value = close > valueAt ? text.slice(valueAt + 1, close).trim() : text.slice(valueAt, end);
      if (value.length > 0) {
        senders.push(value);
        i = end;
        continue;
      }
    }
    // a quoted phrase (excluded or not) is copied whole, so `"from:x"` and `-"a from:x"` stay text
    const quoteAt = text[i] === '-' ? i + 1 : i;
    const phraseEnd = atTermStart && text[quoteAt] === '"' ? text.indexOf('"', quoteAt + 1) : -1;
    if (phraseEnd > quoteAt) {
      rest += text.slice(i, phraseEnd + 1);
      i = phraseEnd + 1;
      continue;
    }
    rest += text[i];
    i++;
  }
  return { rest: rest.replace(/\s+/gu, ' ').trim(), senders };
}
