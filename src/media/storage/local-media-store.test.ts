import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalMediaStore } from './local-media-store.ts';

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
});
