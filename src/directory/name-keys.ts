/**
 * Keys that let people find a name by how they would type it on a Latin keyboard: the full pinyin
 * without tones or spaces (张三 → `zhangsan`) and the initials (`zs`). Latin letters and digits stand
 * for themselves, lowercased (`John Smith` → `johnsmith`, `js`); everything else (punctuation, emoji,
 * kana, Hangul) is left out of the keys, so such names are found by their own text only.
 *
 * Polyphonic characters get several readings. Names are where pinyin-pro's contextual reading is
 * least sure: its surname mode reads 曾小明 as zeng (right) but 长孙 as zhang (wrong), its plain
 * mode the other way round, and a given name like 朝阳 is read zhao or chao by its owner's choice.
 * A user who types a reading the name really can have should find it, so the keys hold the
 * surname-mode reading first, then the plain one, then other combinations of every character's
 * readings, up to KEY_LIMITS.variants. A lookup that finds an extra person is shown as ambiguous;
 * a lookup that misses the person leaves the user stuck, which is worse.
 *
 * Both keys are lists of variants separated by single spaces, primary first, within
 * KEY_LIMITS.chars: `zengxiaoming cengxiaoming`, `zxm cxm`. A prefix lookup matches a key that
 * starts with the query or holds ` query` (see people-lookup.ts).
 *
 * The store's migration 0011 fills these keys for rows written before they existed, so this module
 * imports nothing but pinyin-pro.
 */
import { pinyin, polyphonic } from 'pinyin-pro';

export const KEY_LIMITS = Object.freeze({
  /** the key columns' size (ASCII) */
  chars: 255,
  /** full-pinyin readings of one name, at most */
  variants: 8,
  /** characters of a name read for keys: a longer name is cut (a key is for finding, not a copy) */
  nameChars: 64,
});

export interface NameKeys {
  /** full pinyin readings, space-separated, primary first; null when the name gives no key */
  readonly pinyin: string | null;
  /** initials of those readings, space-separated, primary first; null when the name gives no key */
  readonly initials: string | null;
}

const NO_KEYS: NameKeys = Object.freeze({ pinyin: null, initials: null });

/** One position of a name: a Han character's readings, or a Latin word as it is. */
type Piece = { readonly kind: 'han'; readonly readings: readonly string[] } | { readonly kind: 'word'; readonly text: string };

const HAN = /\p{Script=Han}/u;
const WORD = /[a-z0-9]+/y;

/** A reading in key form: tone-less letters, ü as v (as Chinese keyboards type it). */
const keyForm = (reading: string): string =>
  reading
    .toLowerCase()
    .replace(/ü/g, 'v')
    .replace(/[^a-z]/g, '');

function piecesOf(text: string): Piece[] {
  const chars = [...text];
  const options = { toneType: 'none', type: 'array', v: true } as const;
  const surnameReading = pinyin(text, { ...options, mode: 'surname', surname: 'head' });
  const plainReading = pinyin(text, options);
  const allReadings = polyphonic(text, { toneType: 'none', type: 'array' });
  // the three arrays have one entry per character of `text` (UTF-16 surrogate pairs aside, which
  // are not Han characters pinyin-pro knows); fall back to fewer readings when they disagree
  const aligned = surnameReading.length === chars.length && plainReading.length === chars.length && allReadings.length === chars.length;
  const pieces: Piece[] = [];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (HAN.test(ch)) {
      const readings = aligned ? [surnameReading[i]!, plainReading[i]!, ...allReadings[i]!] : [pinyin(ch, { toneType: 'none', v: true })];
      const distinct = [...new Set(readings.map(keyForm).filter((r) => r.length > 0))];
      if (distinct.length > 0) pieces.push({ kind: 'han', readings: distinct });
      continue;
    }
    const lower = ch.toLowerCase();
    WORD.lastIndex = 0;
    if (WORD.test(lower)) {
      const last = pieces[pieces.length - 1];
      // letters and digits that follow each other form one word
      if (last?.kind === 'word' && i > 0 && /[a-z0-9]/.test(chars[i - 1]!.toLowerCase())) pieces[pieces.length - 1] = { kind: 'word', text: last.text + lower };
      else pieces.push({ kind: 'word', text: lower });
    }
  }
  return pieces;
}

/** Up to `limit` combinations of the pieces' readings, the first readings of every piece first. */
function combinations(pieces: readonly Piece[], limit: number): string[][] {
  const choices = pieces.map((p) => (p.kind === 'han' ? p.readings : [p.text]));
  const out: string[][] = [];
  // primary, then each position's other readings alone, then deeper combinations (odometer order)
  const seen = new Set<string>();
  const add = (picks: readonly number[]) => {
    const key = picks.join(',');
    if (seen.has(key) || out.length >= limit) return;
    seen.add(key);
    out.push(picks.map((k, i) => choices[i]![k]!));
  };
  const base = choices.map(() => 0);
  add(base);
  choices.forEach((c, i) => c.forEach((_, k) => add(base.map((b, j) => (j === i ? k : b)))));
  const odometer = [...base];
  for (;;) {
    if (out.length >= limit) break;
    let i = odometer.length - 1;
    while (i >= 0 && odometer[i] === choices[i]!.length - 1) odometer[i--] = 0;
    if (i < 0) break;
    odometer[i]! += 1;
    add(odometer);
  }
  return out;
}

/** Distinct keys joined by spaces, as many as fit in `chars` (the first always, cut if it must be). */
function joinWithin(keys: readonly string[], chars: number): string | null {
  const distinct = [...new Set(keys.filter((k) => k.length > 0))];
  if (distinct.length === 0) return null;
  let out = distinct[0]!.slice(0, chars);
  for (const key of distinct.slice(1)) if (out.length + 1 + key.length <= chars) out += ` ${key}`;
  return out;
}

/** The search keys of a member's, customer's or group's name (see the module comment). */
export function nameKeys(name: string | null | undefined): NameKeys {
  if (!name) return NO_KEYS;
  const text = [...name.normalize('NFKC')].slice(0, KEY_LIMITS.nameChars).join('');
  const pieces = piecesOf(text);
  if (pieces.length === 0) return NO_KEYS;
  const readings = combinations(pieces, KEY_LIMITS.variants);
  return {
    pinyin: joinWithin(
      readings.map((r) => r.join('')),
      KEY_LIMITS.chars,
    ),
    initials: joinWithin(
      readings.map((r) => r.map((part) => part[0]).join('')),
      KEY_LIMITS.chars,
    ),
  };
}

/**
 * What a lookup's text is as a key: NFKC, lowercased, only ASCII letters and digits kept (so
 * `Zhang San` and `ｚｓ` are `zhangsan` and `zs`). Empty when the text has none (Chinese, say):
 * then only the name itself can match it.
 */
export function keyQuery(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/ü/g, 'v')
    .replace(/[^a-z0-9]/g, '');
}
