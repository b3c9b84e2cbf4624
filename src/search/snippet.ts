/**
 * A short piece of the field a hit was found in, with the matched stretches marked by offsets: the
 * caller renders it (as text, never as HTML). Offsets are UTF-16 code units into `text`, end
 * exclusive, as JavaScript strings count; a range never splits a surrogate pair.
 */
import { type AnalysedField, analyseFields, termOccurrences } from './match.ts';
import type { SearchQuery } from './query.ts';
import type { TextUnit } from './tokenize.ts';

export interface Snippet {
  /** index of the field in the list given */
  readonly field: number;
  /** the snippet, with line breaks and tabs shown as spaces; `…` where the field was cut */
  readonly text: string;
  /** matched stretches in `text`: sorted, not overlapping, [start, end) */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
}

export const SNIPPET_LENGTH = 120;
const ELLIPSIS = '…';
/** characters of context kept before the first match (at most a quarter of the snippet) */
const LEAD = 20;

type Range = [number, number];

/** The stretches of the field cut into `units` that the query's included terms match, sorted and merged. */
function matchedRanges(units: readonly TextUnit[], query: SearchQuery): Range[] {
  const ranges: Range[] = [];
  for (const term of query.terms) {
    if (term.exclude) continue;
    for (const at of termOccurrences(units, term)) ranges.push([units[at]!.start, units[at + term.units.length - 1]!.end]);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: Range[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** `at` moved back off the second half of a surrogate pair. */
function codePointStart(text: string, at: number): number {
  const c = text.charCodeAt(at);
  return at > 0 && at < text.length && c >= 0xdc00 && c <= 0xdfff ? at - 1 : at;
}

function distinctTermsIn(units: readonly TextUnit[], query: SearchQuery): number {
  return query.terms.filter((t) => !t.exclude && termOccurrences(units, t).length > 0).length;
}

/**
 * The snippet of a hit: the field where the most included terms match (the first such field), cut
 * to about `length` code units around the first match. Undefined when no field matches.
 */
export function snippetFor(fields: readonly string[], query: SearchQuery, length = SNIPPET_LENGTH): Snippet | undefined {
  return snippetOfAnalysed(analyseFields(fields, query.fold), query, length);
}

/** snippetFor on fields already cut into units with the query's fold (match.ts, analyseFields). */
export function snippetOfAnalysed(fields: readonly AnalysedField[], query: SearchQuery, length = SNIPPET_LENGTH): Snippet | undefined {
  let best = -1;
  let bestCount = 0;
  fields.forEach(({ units }, i) => {
    const count = distinctTermsIn(units, query);
    if (count > bestCount) [best, bestCount] = [i, count];
  });
  if (best < 0) return undefined;
  const { text: field, units } = fields[best]!;
  const ranges = matchedRanges(units, query);
  const lead = Math.min(LEAD, Math.floor(length / 4));
  const from = codePointStart(field, Math.max(0, Math.min(ranges[0]![0] - lead, field.length - length)));
  const to = codePointStart(field, Math.min(field.length, from + length));
  const head = from > 0 ? ELLIPSIS : '';
  const tail = to < field.length ? ELLIPSIS : '';
  const shift = head.length - from;
  const inside: Range[] = ranges.filter(([s]) => s < to).map(([s, e]) => [s + shift, Math.min(e, to) + shift]);
  return { field: best, text: head + field.slice(from, to).replace(/[\r\n\t\u2028\u2029]/g, ' ') + tail, ranges: inside };
}
