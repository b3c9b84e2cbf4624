/**
 * Media bytes for sdkfileids. A small pool of deterministic blobs per kind stands behind many
 * distinct sdkfileids, so serving media costs no memory per message and md5 is computed once per
 * blob (lazily, on first reference), never per message.
 *
 * Blob bytes are an AES-256-CTR keystream (keyed by seed, kind and blob number) under a small
 * file-type header followed by zeros. CTR allows reading any byte range directly, so a video of
 * any size (up to the 1 GiB large blob) is never held in memory, and the bytes contain NULs like
 * real binary files.
 *
 * Voice blobs are real recordings (voice-samples.ts): AMR-NB, SILK v3 (with and without the 0x02
 * byte) and AMR-WB, so an archive can be tested on converting them. They exist once `prepare()` ran.
 *
 * On request (`prepare`): a share of messages announce an empty or a wrong md5sum, and a share of
 * videos and zip files are large blobs of hundreds of MB (default: none, see LARGE_SIZES).
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { rngFor, type Rng, type SeedMaterial } from '../core/prng.ts';
import type { VoiceSamples } from './voice-samples.ts';

export type MediaKind = 'jpg' | 'png' | 'gif' | 'amr' | 'mp4' | 'pdf' | 'docx' | 'xlsx' | 'zip' | 'dat' | 'mp3' | 'silk' | 'amrwb';

export interface MediaPolicy {
  /** share of media references with an empty md5sum (WeCom sends some); default 0.015 */
  emptyMd5Rate?: number;
  /** share with an md5sum that does not match the bytes; default 0 */
  wrongMd5Rate?: number;
  /** share of videos and zip files that are large blobs (hundreds of MB, up to 1 GiB); default 0 */
  largeFileRate?: number;
}

/** Sizes of the large blobs, which follow the normal blobs of their kind (blob = count + i). */
export const LARGE_SIZES: Readonly<Partial<Record<MediaKind, readonly number[]>>> = {
  mp4: [2 ** 30, 350_000_000, 180_000_000],
  zip: [600_000_000],
};

/** The blob number of the 1 GiB video (for benchmarks). */
export const GIB_VIDEO_BLOB = 4;
const VOICE_KINDS: ReadonlySet<MediaKind> = new Set(['amr', 'silk', 'amrwb']);

interface KindSpec {
  readonly code: number;
  readonly count: number;
  readonly min: number;
  readonly max: number;
  readonly magic: Buffer;
  /** sizes that test chunk boundaries exactly, used for the first blobs of the kind */
  readonly fixedSizes?: readonly number[];
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00]);
const KINDS: Readonly<Record<MediaKind, KindSpec>> = {
  jpg: { code: 1, count: 8, min: 15_000, max: 450_000, magic: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]) },
  png: { code: 2, count: 4, min: 8_000, max: 300_000, magic: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]) },
  gif: { code: 3, count: 4, min: 20_000, max: 900_000, magic: Buffer.from('GIF89a', 'latin1') },
  // voice: count and sizes come from the real samples (voice-samples.ts)
  amr: { code: 4, count: 4, min: 0, max: 0, magic: Buffer.alloc(0) },
  mp4: { code: 5, count: 4, min: 900_000, max: 6_500_000, magic: Buffer.from([0x00, 0x00, 0x00, 0x20, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]) },
  pdf: { code: 6, count: 4, min: 40_000, max: 4_500_000, magic: Buffer.from('%PDF-1.7\n', 'latin1') },
  docx: { code: 7, count: 4, min: 9_000, max: 1_800_000, magic: ZIP_MAGIC },
  xlsx: { code: 8, count: 3, min: 8_000, max: 900_000, magic: ZIP_MAGIC },
  zip: { code: 9, count: 3, min: 200_000, max: 8_000_000, magic: ZIP_MAGIC },
  // exactly one chunk, one chunk plus one byte, and tiny: the edges of the 512 KB chunking
  dat: { code: 10, count: 3, min: 100, max: 1_000, magic: Buffer.alloc(0), fixedSizes: [524_288, 1_048_577, 137] },
  mp3: { code: 11, count: 3, min: 100_000, max: 2_000_000, magic: Buffer.from('ID3\x04\x00\x00', 'latin1') },
  silk: { code: 12, count: 3, min: 0, max: 0, magic: Buffer.alloc(0) },
  amrwb: { code: 13, count: 2, min: 0, max: 0, magic: Buffer.alloc(0) },
};
const KIND_BY_CODE = new Map<number, MediaKind>(Object.entries(KINDS).map(([k, v]) => [v.code, k as MediaKind]));
/** header area: magic, then zeros (so every first chunk has NUL runs) */
const HEADER_LEN = 64;
const MD5_STEP = 1 << 20;
/**
 * The keystream is AES-CTR over zeros: this one read-only block of zeros is the cipher's input for
 * every read up to its size (a chunk, an md5 step), so a read allocates only its output.
 */
const ZEROS = Buffer.alloc(MD5_STEP + 16);
/** sdkfileids resolved lately (checking one costs an HMAC and a SHAKE); cleared when full */
const RESOLVED_MAX = 4096;

export interface MediaRef {
  readonly kind: MediaKind;
  readonly blob: number;
}

export class MediaPool {
  private readonly md5s = new Map<string, string>();
  private readonly blobKeys = new Map<string, Buffer>();
  private readonly resolved = new Map<string, MediaRef>();
  private readonly macKey: Buffer;
  private voices: VoiceSamples | undefined;
  private policy: Required<MediaPolicy> = { emptyMd5Rate: 0.015, wrongMd5Rate: 0, largeFileRate: 0 };

  constructor(private readonly seed: SeedMaterial) {
    this.macKey = createHash('sha256').update(seed.key).update('sdkfileid').digest();
  }

  /** Gives the pool its voice recordings and the md5/large-file policy; before any message is made. */
  prepare(voices: VoiceSamples, policy: MediaPolicy = {}): void {
    for (const [name, rate] of Object.entries(policy)) {
      if (rate !== undefined && !(typeof rate === 'number' && rate >= 0 && rate <= 1)) throw new RangeError(`media ${name} must be a share 0–1, got ${rate}`);
    }
    if ((policy.emptyMd5Rate ?? 0.015) + (policy.wrongMd5Rate ?? 0) > 1) throw new RangeError('emptyMd5Rate + wrongMd5Rate must not exceed 1');
    this.voices = voices;
    this.policy = { ...this.policy, ...Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) };
  }

  /** Normal blobs of a kind (large blobs come after them, see LARGE_SIZES). */
  blobCount(kind: MediaKind): number {
    return KINDS[kind].count;
  }

  /** The blob a new message refers to: a normal one, or with `largeFileRate` sometimes a large one. */
  pickBlob(kind: MediaKind, rng: Rng): number {
    const blob = rng.int(this.blobCount(kind));
    const large = LARGE_SIZES[kind];
    // the extra draw only with the option on, so default output stays as it was
    if (large && this.policy.largeFileRate > 0 && rng.chance(this.policy.largeFileRate)) {
      // hundreds of MB; the 1 GiB video is only for benchmarks that ask for it by number
      const pickable = large.flatMap((size, i) => (size < 2 ** 30 ? [i] : []));
      return this.blobCount(kind) + (pickable[rng.int(pickable.length)] as number);
    }
    return blob;
  }

  /** The md5sum a message announces: the real one, or per the policy an empty or a wrong one. */
  declaredMd5(kind: MediaKind, blob: number, roll: number): string {
    if (roll < this.policy.emptyMd5Rate) return '';
    const real = this.md5(kind, blob);
    if (roll < this.policy.emptyMd5Rate + this.policy.wrongMd5Rate) return createHash('md5').update(`wrong:${real}`).digest('hex');
    return real;
  }

  private voice(kind: MediaKind, blob: number): Buffer {
    if (!this.voices) throw new Error('the media pool has no voice samples yet: call prepare() (Simulator.create does)');
    const list = kind === 'amr' ? this.voices.amr : kind === 'silk' ? this.voices.silk : this.voices.amrwb;
    const sample = list[blob];
    if (!sample) throw new RangeError(`no ${kind} voice blob ${blob}`);
    return sample.bytes;
  }

  size(kind: MediaKind, blob: number): number {
    const spec = KINDS[kind];
    if (VOICE_KINDS.has(kind)) return this.voice(kind, blob).length;
    const large = LARGE_SIZES[kind];
    if (large && blob >= spec.count) {
      const size = large[blob - spec.count];
      if (size === undefined) throw new RangeError(`no ${kind} blob ${blob}`);
      return size;
    }
    const fixed = spec.fixedSizes?.[blob];
    if (fixed !== undefined) return fixed;
    // log-uniform: most files small, a few large, as in real chats
    const r = rngFor(this.seed.seed32 ^ spec.code, blob, 77).float();
    return Math.round(Math.exp(Math.log(spec.min) + r * (Math.log(spec.max) - Math.log(spec.min))));
  }

  /** Hex md5 of the whole blob; computed by streaming once, then cached. */
  md5(kind: MediaKind, blob: number): string {
    const id = `${kind}:${blob}`;
    let sum = this.md5s.get(id);
    if (sum === undefined) {
      const hash = createHash('md5');
      const size = this.size(kind, blob);
      for (let at = 0; at < size; at += MD5_STEP) hash.update(this.read(kind, blob, at, Math.min(size, at + MD5_STEP)));
      sum = hash.digest('hex');
      this.md5s.set(id, sum);
    }
    return sum;
  }

  /** Bytes [start, end) of a blob. */
  read(kind: MediaKind, blob: number, start: number, end: number): Buffer {
    const size = this.size(kind, blob);
    if (start < 0 || end > size || start > end) throw new RangeError(`media range ${start}-${end} outside 0-${size}`);
    if (VOICE_KINDS.has(kind)) return Buffer.from(this.voice(kind, blob).subarray(start, end));
    const block = Math.floor(start / 16);
    const skip = start - block * 16;
    const iv = Buffer.alloc(16);
    iv.writeUInt32BE(Math.floor(block / 4294967296), 8);
    iv.writeUInt32BE(block >>> 0, 12);
    const cipher = createCipheriv('aes-256-ctr', this.blobKey(kind, blob), iv);
    const length = end - start + skip;
    const out = cipher.update(length <= ZEROS.length ? ZEROS.subarray(0, length) : Buffer.alloc(length)).subarray(skip);
    if (start < HEADER_LEN) {
      const magic = KINDS[kind].magic;
      for (let i = start; i < Math.min(end, HEADER_LEN); i++) out[i - start] = i < magic.length ? (magic[i] as number) : 0;
    }
    return out;
  }

  /**
   * A distinct, verifiable sdkfileid for (blob, message, slot). It looks like WeCom's long base64
   * ids; a MAC keyed by the seed means a made-up or damaged id is refused (SDK code 10005).
   */
  sdkFileId(kind: MediaKind, blob: number, msgIndex: number, slot: number): string {
    const head = Buffer.alloc(12);
    head.writeUInt8(1, 0);
    head.writeUInt8(KINDS[kind].code, 1);
    head.writeUInt8(blob, 2);
    head.writeUInt8(slot & 0xff, 3);
    head.writeUInt32BE(Math.floor(msgIndex / 4294967296), 4);
    head.writeUInt32BE(msgIndex >>> 0, 8);
    const mac = createHmac('sha256', this.macKey).update(head).digest();
    // filler only makes the id as long as real ones (100–250 characters); it is derived, not stored
    const filler = createHash('shake256', { outputLength: 40 + ((mac[0] as number) % 120) })
      .update(mac)
      .digest();
    return Buffer.concat([head, mac.subarray(0, 8), filler]).toString('base64');
  }

  /** The blob behind an sdkfileid this pool issued, or undefined for anything else. */
  resolve(sdkFileId: string): MediaRef | undefined {
    // a download asks with the same id for every chunk: it is checked once
    const known = this.resolved.get(sdkFileId);
    if (known) return known;
    const ref = this.check(sdkFileId);
    if (ref) {
      if (this.resolved.size >= RESOLVED_MAX) this.resolved.clear();
      this.resolved.set(sdkFileId, ref);
    }
    return ref;
  }

  private check(sdkFileId: string): MediaRef | undefined {
    if (sdkFileId.length < 28 || sdkFileId.length > 1024) return undefined;
    const raw = Buffer.from(sdkFileId, 'base64');
    if (raw.length < 20 || raw[0] !== 1) return undefined;
    const kind = KIND_BY_CODE.get(raw[1] as number);
    const blob = raw[2] as number;
    if (kind === undefined || blob >= KINDS[kind].count + (LARGE_SIZES[kind]?.length ?? 0)) return undefined;
    const msgIndex = raw.readUInt32BE(4) * 4294967296 + raw.readUInt32BE(8);
    // re-deriving and comparing the whole string checks MAC and filler in one go
    return this.sdkFileId(kind, blob, msgIndex, raw[3] as number) === sdkFileId ? { kind, blob } : undefined;
  }

  private blobKey(kind: MediaKind, blob: number): Buffer {
    const id = `${kind}:${blob}`;
    let key = this.blobKeys.get(id);
    if (key === undefined) {
      key = createHash('sha256').update(this.seed.key).update(`media:${id}`).digest();
      this.blobKeys.set(id, key);
    }
    return key;
  }
}
