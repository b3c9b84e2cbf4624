import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.ts';
import type { CommandIo, OptionValues } from './command.ts';
import { readSecretFlags } from './secret-input.ts';

const dir = mkdtempSync(join(tmpdir(), 'wa-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ioWith(options: { env?: Record<string, string>; stdin?: string } = {}): CommandIo & { errs: string[] } {
  const errs: string[] = [];
  return {
    errs,
    out: () => undefined,
    err: (line) => void errs.push(line),
    stdout: process.stdout,
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(options.stdin)]) }),
    cwd: dir,
    env: options.env ?? {},
    signal: new AbortController().signal,
  };
}

const read = (values: OptionValues, io = ioWith()) => readSecretFlags(values, ['secret', 'token'], io);
const refusal = async (values: OptionValues, io = ioWith()): Promise<string> => {
  const err = await read(values, io).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return (err as Error).message;
};

describe('secret flags', () => {
  it('reads --NAME-file, dropping one trailing line ending and keeping everything else', async () => {
    const file = join(dir, 'secret.txt');
    writeFileSync(file, ' s3cr3t with spaces \n');
    expect((await read({ 'secret-file': file })).get('secret')).toBe(' s3cr3t with spaces ');
    writeFileSync(file, 'crlf\r\n');
    expect((await read({ 'secret-file': file })).get('secret')).toBe('crlf');
    writeFileSync(file, 'two lines\n\n');
    expect((await read({ 'secret-file': file })).get('secret')).toBe('two lines\n');
    writeFileSync(file, 'no newline');
    expect((await read({ 'secret-file': file })).get('secret')).toBe('no newline');
  });

  it('reads --NAME env:VARIABLE', async () => {
    const secrets = await read({ secret: 'env:CORP_SECRET', token: 'env:TOKEN' }, ioWith({ env: { CORP_SECRET: 'from-env\n', TOKEN: 't0k' } }));
    // a variable is taken as it is: only files and standard input end in a newline by habit
    expect(secrets.get('secret')).toBe('from-env\n');
    expect(secrets.get('token')).toBe('t0k');
  });

  it('reads --NAME - (and --NAME-file -) from standard input', async () => {
    expect((await read({ secret: '-' }, ioWith({ stdin: 'piped\n' }))).get('secret')).toBe('piped');
    expect((await read({ 'token-file': '-' }, ioWith({ stdin: 'tok' }))).get('token')).toBe('tok');
  });

  it('still takes the value itself, and says what is missing with the safe forms', async () => {
    const secrets = await read({ secret: 'inline' });
    expect(secrets.get('secret')).toBe('inline');
    expect(secrets.get('token')).toBeUndefined();
    expect(() => secrets.require('token', 'the Token')).toThrow('--token is required: the Token; give it as --token-file PATH, --token env:VARIABLE or --token - (standard input)');
  });

  it('refuses two sources, two readers of standard input, and empty or missing input, never echoing a secret', async () => {
    const file = join(dir, 'x.txt');
    writeFileSync(file, 'file-secret\n');
    expect(await refusal({ secret: 'inline-secret', 'secret-file': file })).toBe('give --secret or --secret-file, not both');
    expect(await refusal({ secret: '-', 'token-file': '-' }, ioWith({ stdin: 'x' }))).toBe(
      'only one secret can come from standard input, but --secret and --token-file both ask for it',
    );
    expect(await refusal({ secret: '-' })).toMatch(/no standard input/);
    expect(await refusal({ secret: '-' }, ioWith({ stdin: '\n' }))).toBe('--secret is empty');
    expect(await refusal({ 'secret-file': join(dir, 'none') })).toBe(`--secret-file ${join(dir, 'none')}: cannot read it (ENOENT)`);
    expect(await refusal({ 'secret-file': dir })).toMatch(/cannot read it \(EISDIR\)/);
    writeFileSync(file, '');
    expect(await refusal({ 'secret-file': file })).toBe(`--secret-file ${file} is empty`);
    expect(await refusal({ secret: 'env:NOPE' })).toBe('--secret env:NOPE: the environment variable NOPE is not set');
    expect(await refusal({ secret: 'env:EMPTY' }, ioWith({ env: { EMPTY: '' } }))).toBe('--secret env:EMPTY: the environment variable EMPTY is empty');
    expect(await refusal({ secret: 'env:no-such name' })).toMatch(/is not an environment variable name/);
    writeFileSync(file, Buffer.alloc(70_000, 0x61));
    expect(await refusal({ 'secret-file': file })).toMatch(/more than 65536 bytes/);
    writeFileSync(file, Buffer.from([0xff, 0xfe, 0x41]));
    const message = await refusal({ 'secret-file': file });
    expect(message).toBe(`--secret-file ${file}: not UTF-8 text`);
  });
});
