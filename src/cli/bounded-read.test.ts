import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readAtMost } from './bounded-read.ts';

describe('readAtMost', () => {
  it('reads a stream of strings and buffers to its end when it stays within the limit', async () => {
    expect((await readAtMost(Readable.from(['ab', Buffer.from('cd')]), 4))?.toString()).toBe('abcd');
  });

  it('gives up as soon as the stream passes the limit, without reading the rest', async () => {
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          pulled++;
          yield Buffer.alloc(1024);
        }
      })(),
    );
    expect(await readAtMost(endless, 4096)).toBeUndefined();
    // a few chunks past the limit at most (the stream reads ahead), never the endless rest
    expect(pulled).toBeLessThan(64);
  });

  it('counts bytes, not characters', async () => {
    expect(await readAtMost(Readable.from(['密码']), 5)).toBeUndefined();
    expect((await readAtMost(Readable.from(['密码']), 6))?.toString()).toBe('密码');
  });
});
