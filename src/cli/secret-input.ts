/**
 * Secret flags (`--secret`, `--token`, `--aes-key`, `--proxy-auth`, …) without the secret on the
 * command line, where /proc/PID/cmdline and shell history would keep it. Each secret flag NAME takes:
 *
 *   --NAME-file PATH   the file's content, one trailing line ending removed
 *   --NAME env:VAR     the environment variable VAR
 *   --NAME -           standard input (also --NAME-file -), one trailing line ending removed;
 *                      only one flag of a command may read it
 *   --NAME VALUE       the value itself: visible to every local user while the command runs
 *
 * Nothing else is changed: a secret is kept byte for byte as given, and never echoed in an error.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { ValidationError } from '../errors/errors.ts';
import { readAtMost } from './bounded-read.ts';
import type { CommandIo, OptionSpec, OptionValues } from './command.ts';

/** No secret is this long; a larger input is a wrong file (or /dev/zero), not read to the end. */
const MAX_SECRET_BYTES = 64 * 1024;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The options of the secret flags `names`: `--NAME` and `--NAME-file` each. */
export function secretOptions(...names: string[]): OptionSpec {
  return Object.fromEntries(
    names.flatMap((n) => [
      [n, { type: 'string' }],
      [`${n}-file`, { type: 'string' }],
    ]),
  ) as OptionSpec;
}

/** How to give a secret flag, for messages: the safe forms first. */
export function secretForms(name: string): string {
  return `--${name}-file PATH, --${name} env:VARIABLE or --${name} - (standard input)`;
}

export interface SecretFlags {
  /** the secret given for `name` in any form; undefined when neither --NAME nor --NAME-file is given */
  get(name: string): string | undefined;
  /** the secret given for `name`, or a ValidationError saying what it is and how to give it */
  require(name: string, what: string): string;
}

/**
 * Reads the secret flags `names` of a command, all at once so that at most one of them reads
 * standard input. Errors name the flag, the file or the variable, never the secret.
 */
export async function readSecretFlags(values: OptionValues, names: readonly string[], io: CommandIo): Promise<SecretFlags> {
  const sources = new Map<string, { flag: string; text: string }>();
  for (const name of names) {
    const inline = values[name];
    const file = values[`${name}-file`];
    if (typeof inline === 'string' && typeof file === 'string') throw new SecretInputError(`give --${name} or --${name}-file, not both`);
    if (typeof inline === 'string') sources.set(name, { flag: `--${name}`, text: inline });
    else if (typeof file === 'string') sources.set(name, { flag: `--${name}-file`, text: file });
  }
  const fromStdin = [...sources.values()].filter((s) => s.text === '-').map((s) => s.flag);
  if (fromStdin.length > 1) throw new SecretInputError(`only one secret can come from standard input, but ${fromStdin.join(' and ')} both ask for it`);

  const secrets = new Map<string, string>();
  for (const [name, { flag, text }] of sources) {
    let secret: string;
    if (text === '-') secret = withoutLineEnd(await readStdin(flag, io), `${flag} - (standard input)`);
    else if (flag.endsWith('-file')) secret = withoutLineEnd(readSecretFile(flag, text), `${flag} ${text}`);
    else if (text.startsWith('env:')) secret = fromEnvironment(flag, text.slice('env:'.length), io.env);
    else secret = text;
    if (secret === '') throw new SecretInputError(`${flag}${flag.endsWith('-file') && text !== '-' ? ` ${text}` : ''} is empty`);
    secrets.set(name, secret);
  }
  return {
    get: (name) => secrets.get(name),
    require(name, what) {
      const secret = secrets.get(name);
      if (secret === undefined) throw new ValidationError('OPTION_MISSING', `--${name} is required: ${what}; give it as ${secretForms(name)}`);
      return secret;
    },
  };
}

class SecretInputError extends ValidationError {
  constructor(message: string) {
    super('SECRET_INPUT_INVALID', message);
  }
}

function fromEnvironment(flag: string, variable: string, env: CommandIo['env']): string {
  if (!ENV_NAME.test(variable)) throw new SecretInputError(`${flag} env:${variable}: "${variable}" is not an environment variable name`);
  const value = env[variable];
  if (value === undefined) throw new SecretInputError(`${flag} env:${variable}: the environment variable ${variable} is not set`);
  if (value === '') throw new SecretInputError(`${flag} env:${variable}: the environment variable ${variable} is empty`);
  return value;
}

function readSecretFile(flag: string, path: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new SecretInputError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    const buffer = Buffer.alloc(MAX_SECRET_BYTES + 1);
    let length = 0;
    for (;;) {
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_SECRET_BYTES) throw new SecretInputError(`${flag} ${path}: more than ${MAX_SECRET_BYTES} bytes, which is not a secret; check the path`);
    }
    return buffer.subarray(0, length);
  } catch (err) {
    if (err instanceof SecretInputError) throw err;
    throw new SecretInputError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    closeSync(fd);
  }
}

async function readStdin(flag: string, io: CommandIo): Promise<Buffer> {
  const stdin = io.stdin;
  if (!stdin) throw new SecretInputError(`${flag} -: this command has no standard input to read`);
  // typed at a terminal it is echoed, but it stays out of the process list and the shell's history
  if ((stdin as { isTTY?: boolean }).isTTY) io.err(`reading ${flag} from the terminal: paste it, then press Enter and Ctrl-D`);
  const bytes = await readAtMost(stdin, MAX_SECRET_BYTES);
  if (!bytes) throw new SecretInputError(`${flag} -: more than ${MAX_SECRET_BYTES} bytes on standard input, which is not a secret`);
  return bytes;
}

/** The text of `bytes` without one trailing "\n" (or "\r\n"), as `echo` and editors end a file. */
function withoutLineEnd(bytes: Buffer, source: string): string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SecretInputError(`${source}: not UTF-8 text`);
  }
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}
