/**
 * The exact answer to a query, by brute force over a message's fields. Index lookups only narrow
 * the candidates; this decides. Fields are normalized and cut into units as in tokenize.ts.
 *
 * A term matches a field when the field has a run of units u1…uk, in order with only separators
 * between them, such that for each query unit q:
 *   - a CJK character equals its unit;
 *   - a word equals its unit whole (a prefix word: the unit starts with it);
 *   - two CJK characters written together in the query (no separator between) are together in
 *     the field too.
 * So a CJK-only term matches exactly the fields whose normalized text contains it as a substring;
 * Latin words match whole words, case-insensitively; a phrase (or a term like `中文abc`) matches
 * its units in sequence, with separators between words ignored. A term never spans two fields.
 * A message matches when every term to include matches some field and no excluded term does.
 */
import type { QueryTerm, QueryUnit, SearchQuery } from './query.ts';
import { type CharacterFold, textUnits, type TextUnit } from './tokenize.ts';

/** A field with its units, cut once for both the match and the snippet (snippet.ts). */
export interface AnalysedField {
  readonly text: string;
  readonly units: readonly TextUnit[];
}

/** The fields cut into units, with the query's fold. */
export function analyseFields(fields: readonly string[], fold: CharacterFold | undefined): AnalysedField[] {
  return fields.map((text) => ({ text, units: textUnits(text, fold) }));
}

function unitMatches(q: QueryUnit, u: TextUnit): boolean {
  if (q.kind !== u.kind) return false;
  return q.prefix ? u.text.startsWith(q.text) : u.text === q.text;
}

function matchesAt(units: readonly TextUnit[], at: number, term: QueryTerm): boolean {
  const { units: wanted } = term;
  if (at + wanted.length > units.length) return false;
  for (let k = 0; k < wanted.length; k++) {
    const q = wanted[k]!;
    const u = units[at + k]!;
    if (!unitMatches(q, u)) return false;
    const together = k > 0 && q.kind === 'cjk' && wanted[k - 1]!.kind === 'cjk' && q.joined;
    if (together && !u.joined) return false;
  }
  return true;
}

/** Every place where `term` matches in a field's units: the index of its first unit. */
export function termOccurrences(units: readonly TextUnit[], term: QueryTerm): number[] {
  const found: number[] = [];
  for (let at = 0; at + term.units.length <= units.length; at++) if (matchesAt(units, at, term)) found.push(at);
  return found;
}

function termMatchesField(units: readonly TextUnit[], term: QueryTerm): boolean {
  return units.some((_, at) => matchesAt(units, at, term));
}

/**
 * True when the message whose searchable fields are `fields` (see searchable-text.ts) answers the
 * query. Filters are not checked here: they are columns, not text.
 */
export function matchesQuery(fields: readonly string[], query: SearchQuery): boolean {
  return matchesAnalysed(analyseFields(fields, query.fold), query);
}

/** matchesQuery on fields already cut into units with the query's fold. */
export function matchesAnalysed(fields: readonly AnalysedField[], query: SearchQuery): boolean {
  return query.terms.every((term) => fields.some((f) => termMatchesField(f.units, term)) !== term.exclude);
}
