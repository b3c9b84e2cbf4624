import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { createLocalMediaStore } from './local-media-store.ts';
import { sliceStream } from './media-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'wa-local-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

describe('local media store', () => {
  it('stores files 0600 in directories it makes 0700, whatever mode the written file had', async () => {
    const root = join(dir, 'new', 'media');
    const store = createLocalMediaStore(root);
    // as ffmpeg leaves a voice copy: readable by every local user
    const file = join(dir, 'voice.mp3');
    writeFileSync(file, 'ID3 not really an mp3');
    chmodSync(file, 0o644);
    const key = `ab/cd/${'ab'.repeat(32)}.mp3`;
    expect(await store.putFile(key, file, { size: 21, sha256: 'ab'.repeat(32), contentType: 'audio/mpeg' })).toBe('stored');
    const stored = join(root, ...key.split('/'));
    expect(existsSync(file)).toBe(false);
    expect(modeOf(stored)).toBe('600');
    for (const d of [join(dir, 'new'), root, join(root, 'ab'), join(root, 'ab', 'cd')]) expect(modeOf(d), d).toBe('700');
  });

  it('leaves a directory the user made as it is', async () => {
    const root = join(dir, 'chosen');
    const store = createLocalMediaStore(root);
    const file = join(dir, 'image.bin');
    writeFileSync(file, 'bytes', { mode: 0o600 });
    mkdirSync(root, { mode: 0o755 });
    chmodSync(root, 0o755);
    await store.putFile(`cd/ef/${'cd'.repeat(32)}`, file, { size: 5, sha256: 'cd'.repeat(32), contentType: 'application/octet-stream' });
    expect(modeOf(root)).toBe('755');
    expect(modeOf(join(root, 'cd'))).toBe('700');
  });

  it('reads a byte range of an object, and cuts one out of a whole stream chunk by chunk', async () => {
    const store = createLocalMediaStore(join(dir, 'ranges'));
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
    const file = join(dir, 'range.bin');
    writeFileSync(file, bytes);
    const key = `ee/ff/${'ef'.repeat(32)}`;
    await store.putFile(key, file, { size: bytes.length, sha256: 'ef'.repeat(32), contentType: 'application/octet-stream' });
    const all = async (stream: Readable) => Buffer.concat(await stream.toArray());
    expect((await all(await store.read(key, { start: 10, end: 19 }))).equals(bytes.subarray(10, 20))).toBe(true);
    expect((await all(await store.read(key))).equals(bytes)).toBe(true);
    // chunks of 7 bytes: ranges across chunk borders, at either end, and of one byte
    const chunked = () => Readable.from(Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7)));
    for (const [start, end] of [
      [0, 0],
      [5, 15],
      [7, 13],
      [990, 999],
      [0, 999],
    ] as const) {
      expect((await all(sliceStream(chunked(), { start, end }))).equals(bytes.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
  });
});
