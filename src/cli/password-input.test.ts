import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CommandIo } from './command.ts';
import { readNewPassword } from './password-input.ts';

/** A terminal double: keys typed arrive as data; raw mode is recorded. */
function terminal(typed: string[]) {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    raw: [] as boolean[],
    setRawMode(mode: boolean) {
      stdin.raw.push(mode);
      return stdin;
    },
  });
  const printed: string[] = [];
  const io = { out: (l: string) => printed.push(l), err: (l: string) => printed.push(l), stdin } as unknown as CommandIo;
  // each answer is typed once the prompt listens
  let next = 0;
  stdin.on('resume', () => {
    const keys = typed[next++];
    if (keys !== undefined) setImmediate(() => stdin.write(keys));
  });
  return { io, stdin, printed };
}

describe('password input', () => {
  it('asks twice at a terminal in raw mode, echoing nothing, and honours backspace', async () => {
    const { io, stdin, printed } = terminal(['secret passX\u007fword\r', 'secret password\r']);
    expect(await readNewPassword(io, false, 'alice')).toBe('secret password');
    expect(printed).toEqual(['new password for alice (not shown): ', 'the same password again: ']);
    expect(stdin.raw).toEqual([true, false, true, false]);
  });

  it('refuses two different answers', async () => {
    const { io } = terminal(['secret password\r', 'secret passw0rd\r']);
    await expect(readNewPassword(io, false, 'alice')).rejects.toMatchObject({ code: 'PASSWORD_INVALID', message: expect.stringMatching(/differ/) });
  });

  it('refuses to ask when standard input is no terminal, and reads one line with --password-stdin', async () => {
    const pipe = new PassThrough();
    const io = { out: () => undefined, err: () => undefined, stdin: pipe } as unknown as CommandIo;
    await expect(readNewPassword(io, false, 'alice')).rejects.toMatchObject({ code: 'PASSWORD_INPUT_MISSING', kind: 'invalid' });
    pipe.end('pass word 1234\r\n');
    expect(await readNewPassword(io, true, 'alice')).toBe('pass word 1234');
    const two = new PassThrough();
    two.end('a\nb\n');
    await expect(readNewPassword({ ...io, stdin: two }, true, 'alice')).rejects.toMatchObject({ code: 'PASSWORD_INVALID' });
  });
});
