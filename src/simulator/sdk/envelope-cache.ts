import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

/**
 * Envelopes of messages 0..count-1, encrypted ahead of time into a file, so serving them costs a
 * file read instead of an RSA encryption per message. Real WeCom encrypts on its own servers; the
 * ingest benchmark prepares the simulator this way so that the machine under test spends its CPU on
 * the archive, as it would in production. Envelopes are deterministic (seed, index, key version),
 * so a cached envelope is byte for byte the one the simulator would make on the fly.
 */
export class EnvelopeCache {
  private constructor(
    private readonly fd: number,
    private readonly path: string,
    private readonly offsets: Float64Array,
  ) {}

  /** Number of leading messages the cache holds. */
  get count(): number {
    return this.offsets.length - 1;
  }

  /**
   * Writes the envelopes of messages 0..count-1 to `path` (each followed by a comma, so any run of
   * consecutive envelopes is one contiguous byte range). Memory stays flat: envelopes are written
   * in 4 MB blocks.
   */
  static build(path: string, count: number, envelopeOf: (index: number) => string, onProgress?: (done: number) => void): EnvelopeCache {
    const fd = openSync(path, 'w+', 0o600);
    const offsets = new Float64Array(count + 1);
    let block: string[] = [];
    let blockBytes = 0;
    let position = 0;
    const flush = () => {
      const bytes = Buffer.from(block.join(''), 'utf8');
      writeSync(fd, bytes, 0, bytes.length, position);
      position += bytes.length;
      block = [];
      blockBytes = 0;
    };
    for (let i = 0; i < count; i++) {
      const text = `${envelopeOf(i)},`;
      offsets[i] = position + blockBytes;
      block.push(text);
      blockBytes += Buffer.byteLength(text, 'utf8');
      if (blockBytes >= 4 << 20) flush();
      if (onProgress && (i + 1) % 50_000 === 0) onProgress(i + 1);
    }
    flush();
    offsets[count] = position;
    return new EnvelopeCache(fd, path, offsets);
  }

  /** The envelopes of messages start..end-1 joined by commas, or undefined if not all are cached. */
  range(start: number, end: number): string | undefined {
    if (start < 0 || end > this.count || start >= end) return undefined;
    const from = this.offsets[start]!;
    const length = this.offsets[end]! - from - 1; // without the trailing comma
    const buffer = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) read += readSync(this.fd, buffer, read, length - read, from + read);
    return buffer.toString('utf8');
  }

  close(): void {
    closeSync(this.fd);
    rmSync(this.path, { force: true });
  }
}
