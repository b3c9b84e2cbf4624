import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MEDIA_CHUNK_MAX } from '../../sdk/backend.ts';
import { chunkBuffer, isChunkMemory } from '../../sdk/chunk-memory.ts';
import { PartialFiles } from './partial-files.ts';

const dir = mkdtempSync(join(tmpdir(), 'wa-partial-'));
const partials = new PartialFiles(1);
afterAll(async () => {
  await partials.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A chunk whose bytes depend on its number, with NUL bytes among them. */
function fill(chunk: Buffer, n: number): Buffer {
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + n * 13) % 5 === 0 ? 0 : (i + n) & 0xff;
  return chunk;
}

describe('PartialFiles with reused chunk memory', () => {
  it('writes and hashes every byte while the memory of written chunks holds the next ones', async () => {
    const path = join(dir, 'a.part');
    const file = partials.open(path, 0);
    const expected: Buffer[] = [];
    let reusedChunks = 0;
    for (let n = 0; n < 4; n++) {
      const chunk = fill(chunkBuffer(MEDIA_CHUNK_MAX), n);
      if (isChunkMemory(chunk.buffer)) reusedChunks += 1;
      expected.push(Buffer.from(chunk));
      await file.write(chunk, n * MEDIA_CHUNK_MAX);
      // moved to the worker, not copied: the view here is empty now
      expect(chunk.length).toBe(0);
    }
    // the first chunk had new memory; each later one the memory the worker gave back
    expect(reusedChunks).toBe(3);

    const last = fill(chunkBuffer(1000), 9);
    expect(isChunkMemory(last.buffer)).toBe(true);
    expected.push(Buffer.from(last));
    const digest = await file.finish(last, 4 * MEDIA_CHUNK_MAX);

    const all = Buffer.concat(expected);
    expect(digest.size).toBe(all.length);
    expect(digest.md5).toBe(createHash('md5').update(all).digest('hex'));
    expect(digest.sha256).toBe(createHash('sha256').update(all).digest('hex'));
    expect(readFileSync(path).equals(all)).toBe(true);
  });
});

describe('PartialFiles modes', () => {
  const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

  it('makes partial files 0600 in directories it makes 0700, a resumed file left 0644 included', async () => {
    const path = join(dir, 'made', 'here', 'b.part');
    const file = partials.open(path, 0);
    await file.finish(Buffer.from('first bytes'), 0);
    expect(modeOf(path)).toBe('600');
    expect(modeOf(join(dir, 'made'))).toBe('700');
    expect(modeOf(join(dir, 'made', 'here'))).toBe('700');

    const old = join(dir, 'old.part');
    writeFileSync(old, 'kept bytes');
    chmodSync(old, 0o644);
    const resumed = partials.open(old, 4);
    expect(await resumed.opened).toBe(true);
    await resumed.finish(Buffer.from(' more'), 4);
    expect(readFileSync(old, 'utf8')).toBe('kept more');
    expect(modeOf(old)).toBe('600');
  });
});

describe('PartialFiles workers and process exit', () => {
  it('lets the process exit with workers started ahead of use, used or not', () => {
    const module = new URL('./partial-files.ts', import.meta.url).href;
    // two lanes warmed, one file written on one of them: the other lane's worker was never asked anything
    const script = `
      import { PartialFiles } from ${JSON.stringify(module)};
      const partials = new PartialFiles(2);
      partials.warm();
      const file = partials.open(${JSON.stringify(join(dir, 'exit.part'))}, 0);
      await file.write(Buffer.from('abc'), 0);
      const digest = await file.finish();
      console.log(digest.size);`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(child.error, 'the process did not exit by itself').toBeUndefined();
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('3');
  });
});
