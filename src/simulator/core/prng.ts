/**
 * Deterministic pseudo-randomness for the simulator. Message i must be a pure function of
 * (seed, i) so a million messages can be served without holding them: every message gets its own
 * small generator seeded from (seed, i), never one shared stream that would have to be replayed.
 */
import { createHash } from 'node:crypto';
import { SEQ_MAX } from '../../store/seq-codec.ts';

/** all 64 bits set: the mask of 64-bit arithmetic */
const U64 = SEQ_MAX;

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * splitmix64's finalizer. It is a bijection on 64-bit values, so distinct message indexes give
 * distinct outputs: msgids built from it are unique without keeping a set of used ones.
 */
export function mix64(x: bigint): bigint {
  let z = x & U64;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & U64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & U64;
  return z ^ (z >> 31n);
}

/** The seed string turned into the numbers the generators start from. */
export interface SeedMaterial {
  readonly seed: string;
  readonly seed32: number;
  readonly seed64: bigint;
  /** 32 bytes for keyed derivations (media bytes, sdkfileid MACs, message keys). */
  readonly key: Buffer;
}

export function seedMaterial(seed: string): SeedMaterial {
  const key = createHash('sha256').update('wecom-archive-simulator\0').update(seed).digest();
  return { seed, seed32: key.readUInt32BE(0), seed64: key.readBigUInt64BE(8), key };
}

/** sfc32: small, fast, and good enough for plausible test data (not for secrets). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(a: number, b: number, c: number, d: number) {
    this.a = a >>> 0;
    this.b = b >>> 0;
    this.c = c >>> 0;
    this.d = d >>> 0;
    // A few rounds so that neighbouring seeds do not start with correlated outputs.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** uint32 */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  float(): number {
    return this.next() / 4294967296;
  }

  /** integer in [0, n) */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** k distinct items (k clamped to the list length), in random order. */
  sample<T>(items: readonly T[], k: number): T[] {
    const pool = items.slice();
    const n = Math.min(k, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(pool.length - i);
      const tmp = pool[i] as T;
      pool[i] = pool[j] as T;
      pool[j] = tmp;
    }
    return pool.slice(0, n);
  }

  /** A uint64 with the top bits chosen by the caller's `min`, e.g. meeting ids above 2^53. */
  bigUint64(min: bigint): bigint {
    const v = (BigInt(this.next()) << 32n) | BigInt(this.next());
    return min + (v % (U64 - min));
  }

  /** `length` characters drawn from `alphabet`. */
  chars(alphabet: string, length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}

/** The generator of one (seed, index, stream) triple. `index` may be any safe integer. */
export function rngFor(seed32: number, index: number, stream = 0): Rng {
  const lo = index >>> 0;
  const hi = Math.floor(index / 4294967296) >>> 0;
  return new Rng(
    fmix32(seed32 ^ 0x9e3779b9),
    fmix32(lo ^ Math.imul(stream + 1, 0x85ebca6b)),
    fmix32(hi ^ seed32 ^ 0x27d4eb2f),
    fmix32(Math.imul(lo, 0xcc9e2d51) ^ stream ^ 0x165667b1),
  );
}

/** Picks an index by weight; `total` is the sum of `weights` (precomputed by the caller). */
export function pickWeighted(rng: Rng, weights: readonly number[], total: number): number {
  let r = rng.float() * total;
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i] as number;
    if (r < 0) return i;
  }
  return weights.length - 1;
}
