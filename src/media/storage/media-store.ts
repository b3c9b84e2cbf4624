/**
 * Where media bytes live (docs/design.md, "Storage"): outside the database, content-addressed by SHA-256,
 * in a local directory (default) or an S3-compatible bucket. Keys are made here from digests only;
 * nothing from a message (file names, extensions) ever becomes part of a path or key.
 */
import { Readable } from 'node:stream';
import { ValidationError } from '../../errors/errors.ts';

export interface MediaStore {
  readonly kind: 'local' | 's3';
  /** where it stores, for logs and status (never a secret) */
  readonly description: string;
  /**
   * Stores the local file `file` under `key` and removes `file`. Content-addressed: when `key`
   * exists with the same size the bytes are already stored, and nothing is written ('existed').
   */
  putFile(key: string, file: string, info: { size: number; sha256: string; contentType: string }): Promise<'stored' | 'existed'>;
  has(key: string): Promise<boolean>;
  /** The object's bytes as a stream; with `range`, only bytes `start`…`end` (inclusive, within the object). */
  read(key: string, range?: ByteRange): Promise<Readable>;
  close?(): Promise<void>;
}

/** Bytes `start` to `end` of an object, both included (as HTTP counts them). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Bytes `start`…`end` of a stream of the whole object, for a source that sent it whole; the source is closed once they are through. */
export function sliceStream(source: Readable, range: ByteRange): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let offset = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      const from = Math.max(0, range.start - offset);
      const to = Math.min(chunk.length, range.end + 1 - offset);
      offset += chunk.length;
      if (to > from) yield chunk.subarray(from, to);
      if (offset > range.end) break;
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}

const SHA256 = /^[0-9a-f]{64}$/;
const KEY = /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64}(\.[a-z0-9]{1,8})?$/;

/** The key of the original bytes: `ab/cd/abcd…` (two levels of fan-out keep directories small). */
export function objectKey(sha256: string): string {
  if (!SHA256.test(sha256)) throw new ValidationError('MEDIA_KEY_INVALID', `not a SHA-256 hex digest: ${JSON.stringify(sha256.slice(0, 80))}`);
  return `${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

/** The key of a converted copy beside the original, e.g. `ab/cd/abcd….mp3`. */
export function derivedKey(sha256: string, ext: string): string {
  if (!/^[a-z0-9]{1,8}$/.test(ext)) throw new ValidationError('MEDIA_KEY_INVALID', `bad extension ${JSON.stringify(ext)}`);
  return `${objectKey(sha256)}.${ext}`;
}

/** Refuses any key this module did not make (defence in depth against path tricks). */
export function checkKey(key: string): string {
  if (!KEY.test(key)) throw new ValidationError('MEDIA_KEY_INVALID', `not a media store key: ${JSON.stringify(key.slice(0, 120))}`);
  return key;
}
