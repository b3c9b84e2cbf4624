import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MEDIA_CHUNK_MAX } from '../../sdk/backend.ts';
import { seedMaterial } from '../core/prng.ts';
import { formatMediaIndex, mediaChunkRange } from './media-index.ts';
import { MediaPool } from './media-pool.ts';

const pool = new MediaPool(seedMaterial('media-test'));

describe('MediaPool', () => {
  it('reads any range consistently with the whole blob, and md5 covers the whole blob', () => {
    const size = pool.size('pdf', 1);
    const whole = pool.read('pdf', 1, 0, size);
    expect(whole.subarray(0, 9).toString('latin1')).toBe('%PDF-1.7\n');
    for (const [a, b] of [
      [0, 1],
      [3, 70],
      [15, 17],
      [16, 32],
      [size - 5, size],
      [100_001, 100_777],
    ] as const) {
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

describe('voice, large files and md5 on request', () => {
  it('serves real voice recordings: AMR-NB, SILK with and without 0x02, AMR-WB', async () => {
    const { voiceSamples } = await import('./voice-samples.ts');
    const p = new MediaPool(seedMaterial('voices'));
    expect(() => p.size('amr', 0)).toThrow(/prepare/);
    p.prepare(await voiceSamples());
    expect(p.read('amr', 0, 0, 6).toString('latin1')).toBe('#!AMR\n');
    expect(p.read('silk', 0, 0, 10).toString('latin1')).toBe('\x02#!SILK_V3');
    expect(p.read('silk', 1, 0, 9).toString('latin1')).toBe('#!SILK_V3');
    expect(p.read('amrwb', 0, 0, 9).toString('latin1')).toBe('#!AMR-WB\n');
    for (const kind of ['amr', 'silk', 'amrwb'] as const) {
      for (let b = 0; b < p.blobCount(kind); b++) {
        const size = p.size(kind, b);
        expect(size).toBeGreaterThan(1000);
        expect(size).toBeLessThanOrEqual(40_000);
        expect(
          createHash('md5')
            .update(p.read(kind, b, 0, size))
            .digest('hex'),
        ).toBe(p.md5(kind, b));
      }
    }
  });

  it('has a 1 GiB video read at any offset without holding it, and large blobs only on request', async () => {
    const { voiceSamples } = await import('./voice-samples.ts');
    const { GIB_VIDEO_BLOB } = await import('./media-pool.ts');
    const p = new MediaPool(seedMaterial('large'));
    expect(p.size('mp4', GIB_VIDEO_BLOB)).toBe(2 ** 30);
    const tail = p.read('mp4', GIB_VIDEO_BLOB, 2 ** 30 - 100, 2 ** 30);
    expect(tail.length).toBe(100);
    expect(p.read('mp4', GIB_VIDEO_BLOB, 2 ** 30 - 60, 2 ** 30).equals(tail.subarray(40))).toBe(true);
    expect(p.resolve(p.sdkFileId('mp4', GIB_VIDEO_BLOB, 7, 0))).toEqual({ kind: 'mp4', blob: GIB_VIDEO_BLOB });
    p.prepare(await voiceSamples(), { largeFileRate: 1, emptyMd5Rate: 0, wrongMd5Rate: 1 });
    const { rngFor } = await import('../core/prng.ts');
    const picked = Array.from({ length: 20 }, (_, i) => p.pickBlob('mp4', rngFor(1, i, 1)));
    expect(picked.every((b) => b > GIB_VIDEO_BLOB && p.size('mp4', b) >= 100_000_000 && p.size('mp4', b) < 2 ** 30)).toBe(true);
    expect(p.declaredMd5('jpg', 0, 0.5)).toMatch(/^[0-9a-f]{32}$/);
    expect(p.declaredMd5('jpg', 0, 0.5)).not.toBe(p.md5('jpg', 0));
    p.prepare(await voiceSamples(), { emptyMd5Rate: 1 });
    expect(p.declaredMd5('jpg', 0, 0.99)).toBe('');
    p.prepare(await voiceSamples(), { emptyMd5Rate: 0, wrongMd5Rate: 0, largeFileRate: 0 });
    expect(p.declaredMd5('jpg', 0, 0.001)).toBe(p.md5('jpg', 0));
    expect(Array.from({ length: 50 }, (_, i) => p.pickBlob('mp4', rngFor(2, i, 1))).every((b) => b < GIB_VIDEO_BLOB)).toBe(true);
  });
});
