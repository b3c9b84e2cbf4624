/**
 * A new password for `users add` and `users passwd`: from standard input with --password-stdin
 * (one trailing line ending removed), or asked at the terminal without echo, twice. Never from a
 * flag's value, where the process list and the shell's history would keep it.
 */
import { ValidationError } from '../errors/errors.ts';
import { readAtMost } from './bounded-read.ts';
import type { CommandIo } from './command.ts';

const MAX_PASSWORD_BYTES = 4096;

/** The stdin of a terminal: what the prompt needs of it. */
interface TerminalInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** The password the command was given, or a ValidationError saying how to give one. */
export async function readNewPassword(io: CommandIo, fromStdin: boolean, username: string): Promise<string> {
  const stdin = io.stdin as TerminalInput | undefined;
  if (fromStdin) {
    if (!stdin) throw new ValidationError('PASSWORD_INPUT_MISSING', '--password-stdin: this command has no standard input to read');
    return readAll(stdin);
  }
  if (!stdin?.isTTY || typeof stdin.setRawMode !== 'function')
    throw new ValidationError('PASSWORD_INPUT_MISSING', 'no password given: pipe it in with --password-stdin, or run the command at a terminal to be asked for it');
  const first = await prompt(stdin, io, `new password for ${username} (not shown): `);
  const second = await prompt(stdin, io, 'the same password again: ');
  if (first !== second) throw new ValidationError('PASSWORD_INVALID', 'the two passwords differ; nothing was changed');
  return first;
}

async function readAll(stdin: NodeJS.ReadableStream): Promise<string> {
  const bytes = await readAtMost(stdin, MAX_PASSWORD_BYTES);
  if (!bytes) throw new ValidationError('PASSWORD_INVALID', `--password-stdin: more than ${MAX_PASSWORD_BYTES} bytes, which is not a password`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ValidationError('PASSWORD_INVALID', '--password-stdin: the password is not UTF-8 text');
  }
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);
  if (text.includes('\n')) throw new ValidationError('PASSWORD_INVALID', '--password-stdin: give one line, the password');
  return text;
}

/** Reads one line in raw mode, echoing nothing; Ctrl-C or Ctrl-D ends it with an error. */
function prompt(stdin: TerminalInput, io: CommandIo, question: string): Promise<string> {
  io.err(question);
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err: Error | undefined) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === '\r' || ch === '\n') return done(undefined);
        if (ch === '\u0003' || ch === '\u0004') return done(new ValidationError('PASSWORD_INPUT_MISSING', 'no password given; nothing was changed'));
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('');
        else text += ch;
      }
    };
    stdin.setRawMode!(true);
    stdin.on('data', onData);
    stdin.resume();
  });
}
