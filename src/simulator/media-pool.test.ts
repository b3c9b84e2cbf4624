import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MEDIA_CHUNK_MAX } from '../sdk/backend.ts';
import { formatMediaIndex, mediaChunkRange } from './media-index.ts';
import { MediaPool } from './media-pool.ts';
import { seedMaterial } from './prng.ts';

const pool = new MediaPool(seedMaterial('media-test'));

describe('MediaPool', () => {
  it('reads any range consistently with the whole blob, and md5 covers the whole blob', () => {
    const size = pool.size('pdf', 1);
    const whole = pool.read('pdf', 1, 0, size);
    expect(whole.subarray(0, 9).toString('latin1')).toBe('%PDF-1.7\n');
    for (const [a, b] of [[0, 1], [3, 70], [15, 17], [16, 32], [size - 5, size], [100_001, 100_777]] as const) {
      expect(pool.read('pdf', 1, a, b).equals(whole.subarray(a, b)), `${a}-${b}`).toBe(true);
    }
    expect(pool.md5('pdf', 1)).toBe(createHash('md5').update(whole).digest('hex'));
    expect(whole.includes(0)).toBe(true);
    expect(() => pool.read('pdf', 1, 0, size + 1)).toThrow(RangeError);
  });

  it('has blobs exactly at the 512 KB chunk edges', () => {
    expect([0, 1, 2].map((b) => pool.size('dat', b))).toEqual([MEDIA_CHUNK_MAX, 2 * MEDIA_CHUNK_MAX + 1, 137]);
  });

  it('depends on the seed', () => {
    const other = new MediaPool(seedMaterial('other-seed'));
    expect(other.read('jpg', 0, 0, 2000).equals(pool.read('jpg', 0, 0, 2000))).toBe(false);
  });

  it('issues distinct sdkfileids per message and slot, and refuses made-up or damaged ones', () => {
    const a = pool.sdkFileId('mp4', 2, 12345, 0);
    const b = pool.sdkFileId('mp4', 2, 12346, 0);
    const c = pool.sdkFileId('mp4', 2, 12345, 1);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(a.length).toBeGreaterThan(60);
    for (const id of [a, b, c]) expect(pool.resolve(id)).toEqual({ kind: 'mp4', blob: 2 });
    const damaged = `${a.slice(0, 20)}${a[20] === 'A' ? 'B' : 'A'}${a.slice(21)}`;
    expect(pool.resolve(damaged)).toBeUndefined();
    expect(pool.resolve('')).toBeUndefined();
    expect(pool.resolve('not base64 at all, clearly not an id')).toBeUndefined();
    expect(new MediaPool(seedMaterial('other-seed')).resolve(a)).toBeUndefined();
  });
});

describe('media index tokens', () => {
  it('chunks a file with inclusive Range:bytes tokens', () => {
    const size = 1_200_000;
    expect(mediaChunkRange('', size)).toEqual({ start: 0, end: MEDIA_CHUNK_MAX });
    expect(formatMediaIndex(MEDIA_CHUNK_MAX, size)).toBe('Range:bytes=524288-1048575');
    expect(mediaChunkRange('Range:bytes=524288-1048575', size)).toEqual({ start: 524288, end: 1048576 });
    expect(formatMediaIndex(1048576, size)).toBe('Range:bytes=1048576-1199999');
    expect(mediaChunkRange('Range:bytes=1048576-1199999', size)).toEqual({ start: 1048576, end: size });
    // a token asking for more than 512 KB still gets one chunk
    expect(mediaChunkRange('Range:bytes=0-9999999', size)).toEqual({ start: 0, end: MEDIA_CHUNK_MAX });
    for (const bad of ['Range:bytes=5-4', 'Range:bytes=1200000-1200001', 'bytes=0-1', 'Range:bytes=-1-5', ' Range:bytes=0-1']) {
      expect(mediaChunkRange(bad, size), bad).toBeUndefined();
    }
  });
});
