import { execFileSync } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CryptoError, ValidationError } from '../errors/errors.ts';
import { parseRsaPrivateKey } from './rsa-key.ts';
import { decodeEncryptRandomKey, rsaPkcs1v15Decrypt, rsaPkcs1v15Encrypt } from './rsa-pkcs1.ts';

let dir: string;

function run(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function file(name: string): string {
  return readFileSync(join(dir, name), 'utf8');
}

let counter = 0;
/** Encrypts with the real `openssl pkeyutl` in PKCS#1 v1.5 mode, as WeCom's servers would. */
function opensslEncrypt(pubPem: string, plaintext: Buffer): Buffer {
  const n = counter++;
  writeFileSync(join(dir, `pub${n}.pem`), pubPem);
  writeFileSync(join(dir, `pt${n}.bin`), plaintext);
  run('pkeyutl', '-encrypt', '-pubin', '-inkey', `pub${n}.pem`, '-pkeyopt', 'rsa_padding_mode:pkcs1', '-in', `pt${n}.bin`, '-out', `ct${n}.bin`);
  return readFileSync(join(dir, `ct${n}.bin`));
}

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

function bodyOf(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
}

/** Encrypts a hand-made 256-byte encoded block with no padding, to test each unpadding rule exactly. */
function rawEncrypt(em: Buffer): Buffer {
  return publicEncrypt({ key: publicPem, padding: constants.RSA_NO_PADDING }, em);
}

function block(prefix: number[], psLength: number, separator: boolean, message: Buffer): Buffer {
  const ps = Buffer.alloc(psLength, 0x5a);
  const em = Buffer.concat([Buffer.from(prefix), ps, Buffer.from(separator ? [0] : []), message]);
  expect(em.length).toBe(256);
  return em;
}

let publicPem: string;
let keys: Record<string, KeyObject>;
let otherKey: KeyObject;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rsa-pkcs1-test-'));
  run('genrsa', '-out', 'k.pem', '2048');
  run('pkcs8', '-topk8', '-nocrypt', '-in', 'k.pem', '-out', 'k8.pem');
  run('rsa', '-in', 'k.pem', '-traditional', '-out', 'k1.pem');
  run('rsa', '-in', 'k.pem', '-pubout', '-out', 'pub.pem');
  run('genrsa', '-out', 'other.pem', '2048');
  publicPem = file('pub.pem');
  const pkcs8 = file('k8.pem');
  const pkcs1 = file('k1.pem');
  expect(pkcs8).toContain('-----BEGIN PRIVATE KEY-----');
  expect(pkcs1).toContain('-----BEGIN RSA PRIVATE KEY-----');
  // Folded at changing widths, with CRLF, blank lines, tabs and spaces, as mail clients and chat apps leave it.
  let mangled = '\r\n  ';
  const body = bodyOf(pkcs1);
  for (let at = 0, i = 0; at < body.length; i++) {
    const width = [23, 61, 7, 64][i % 4] as number;
    mangled += i % 2 === 0 ? `${body.slice(at, at + width)}  \r\n` : `\t${body.slice(at, at + width)}\n\n`;
    at += width;
  }
  mangled += '   ';
  keys = {
    'PKCS#1 PEM': parseRsaPrivateKey(pkcs1),
    'PKCS#8 PEM': parseRsaPrivateKey(pkcs8),
    'header-less PKCS#8 body': parseRsaPrivateKey(bodyOf(pkcs8)),
    'mangled PKCS#1 body': parseRsaPrivateKey(mangled),
  };
  otherKey = parseRsaPrivateKey(file('other.pem'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('rsaPkcs1v15Decrypt with ciphertexts from openssl pkeyutl', () => {
  const plaintexts: Record<string, Buffer> = {
    'a 32-character key like WeCom sends': Buffer.from('8a5ee3c4a0b8b4c0c9f06c0a97d8e1f2'),
    'binary with zero bytes inside': Buffer.from([0, 1, 0, 0, 2, 255, 0]),
    'one byte': Buffer.from([0x41]),
    'the maximum 245 bytes': randomBytes(245),
  };

  it.each(['PKCS#1 PEM', 'PKCS#8 PEM', 'header-less PKCS#8 body', 'mangled PKCS#1 body'])('decrypts with the key loaded from %s', (name) => {
    const key = keys[name] as KeyObject;
    for (const [, pt] of Object.entries(plaintexts)) {
      const ct = opensslEncrypt(publicPem, pt);
      expect(ct.length).toBe(256);
      expect(rsaPkcs1v15Decrypt(key, ct)).toEqual(pt);
    }
  });

  it('decrypts a base64 encrypt_random_key end to end', () => {
    const ct = opensslEncrypt(publicPem, Buffer.from('abcdefghijklmnopqrstuvwxyz012345'));
    const field = ` ${ct.toString('base64')}\n`;
    expect(rsaPkcs1v15Decrypt(keys['PKCS#8 PEM'] as KeyObject, decodeEncryptRandomKey(field)).toString()).toBe('abcdefghijklmnopqrstuvwxyz012345');
  });

  it('fails with the generic error for a different private key', () => {
    const ct = opensslEncrypt(publicPem, Buffer.from('secret message key'));
    const err = catchError(() => rsaPkcs1v15Decrypt(otherKey, ct));
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe('RSA_DECRYPT_FAILED');
    expect((err as CryptoError).message).toMatch(/private key configured for this publickey_ver/);
  });

  it('fails with the generic error for a tampered ciphertext', () => {
    // A random block passes the 00 02 … 00 checks with probability about 1 in 100 000.
    const ct = opensslEncrypt(publicPem, Buffer.from('secret message key'));
    ct[100] = (ct[100] as number) ^ 0x01;
    const err = catchError(() => rsaPkcs1v15Decrypt(keys['PKCS#1 PEM'] as KeyObject, ct));
    expect((err as CryptoError).code).toBe('RSA_DECRYPT_FAILED');
  });

  it('rejects a ciphertext of the wrong length with a clear, specific error', () => {
    const key = keys['PKCS#1 PEM'] as KeyObject;
    const ct = opensslEncrypt(publicPem, Buffer.from('x'));
    for (const bad of [ct.subarray(1), Buffer.concat([ct, Buffer.from([0])]), Buffer.alloc(0), Buffer.alloc(384, 1)]) {
      const err = catchError(() => rsaPkcs1v15Decrypt(key, bad));
      expect(err).toBeInstanceOf(CryptoError);
      expect((err as CryptoError).code).toBe('RSA_CIPHERTEXT_LENGTH');
      expect((err as CryptoError).message).toContain(`is ${bad.length} bytes but this 2048-bit key needs exactly 256`);
    }
  });

  it('rejects a ciphertext not below the modulus by wrapping the RSA error', () => {
    const err = catchError(() => rsaPkcs1v15Decrypt(keys['PKCS#1 PEM'] as KeyObject, Buffer.alloc(256, 0xff)));
    expect(err).toBeInstanceOf(CryptoError);
    expect((err as CryptoError).code).toBe('RSA_DECRYPT_FAILED');
    expect(String((err as CryptoError).cause)).toMatch(/too large for modulus/);
  });

  it('refuses a public key for decryption', () => {
    const err = catchError(() => rsaPkcs1v15Decrypt(createPublicKey(publicPem), Buffer.alloc(256)));
    expect((err as ValidationError).code).toBe('RSA_KEY_NOT_PRIVATE');
  });
});

describe('PKCS#1 v1.5 unpadding rules', () => {
  const message = (n: number): Buffer => Buffer.alloc(n, 0x33);

  it('accepts exactly 8 bytes of padding and an empty message', () => {
    const key = keys['PKCS#1 PEM'] as KeyObject;
    expect(rsaPkcs1v15Decrypt(key, rawEncrypt(block([0, 2], 8, true, message(245))))).toEqual(message(245));
    expect(rsaPkcs1v15Decrypt(key, rawEncrypt(block([0, 2], 253, true, Buffer.alloc(0))))).toEqual(Buffer.alloc(0));
  });

  it('splits at the first zero byte, keeping zeros inside the message', () => {
    const msg = Buffer.from([0, 0, 7, 0]);
    expect(rsaPkcs1v15Decrypt(keys['PKCS#1 PEM'] as KeyObject, rawEncrypt(block([0, 2], 249, true, msg)))).toEqual(msg);
  });

  it('throws the same error for every kind of bad padding', () => {
    const bad = {
      'padding of 7 bytes': block([0, 2], 7, true, message(246)),
      'no zero separator': block([0, 2], 254, false, Buffer.alloc(0)),
      'first byte not zero': block([1, 2], 20, true, message(233)),
      'block type 1 (signature)': block([0, 1], 20, true, message(233)),
      'zero right after the prefix': block([0, 2], 0, true, message(253)),
    };
    const errors = Object.values(bad).map((em) => catchError(() => rsaPkcs1v15Decrypt(keys['PKCS#1 PEM'] as KeyObject, rawEncrypt(em))));
    for (const err of errors) {
      expect(err).toBeInstanceOf(CryptoError);
      expect((err as CryptoError).code).toBe('RSA_DECRYPT_FAILED');
      expect((err as CryptoError).message).toBe((errors[0] as CryptoError).message);
      expect((err as CryptoError).cause).toBeUndefined();
    }
  });
});

describe('rsaPkcs1v15Encrypt', () => {
  it('produces ciphertexts openssl pkeyutl decrypts', () => {
    const pt = Buffer.from('0123456789abcdef0123456789abcdef');
    const ct = rsaPkcs1v15Encrypt(publicPem, pt);
    writeFileSync(join(dir, 'ours.bin'), ct);
    run('pkeyutl', '-decrypt', '-inkey', 'k.pem', '-pkeyopt', 'rsa_padding_mode:pkcs1', '-in', 'ours.bin', '-out', 'ours.txt');
    expect(readFileSync(join(dir, 'ours.txt'))).toEqual(pt);
  });

  it('accepts a PEM string, a public KeyObject or a private KeyObject, and round-trips', () => {
    const key = keys['PKCS#8 PEM'] as KeyObject;
    for (const pub of [publicPem, createPublicKey(publicPem), key]) {
      const pt = randomBytes(32);
      const ct = rsaPkcs1v15Encrypt(pub, pt);
      expect(ct.length).toBe(256);
      expect(rsaPkcs1v15Decrypt(key, ct)).toEqual(pt);
    }
    expect(rsaPkcs1v15Decrypt(key, rsaPkcs1v15Encrypt(publicPem, Buffer.alloc(0)))).toEqual(Buffer.alloc(0));
  });

  it('rejects a plaintext longer than 245 bytes for a 2048-bit key', () => {
    const err = catchError(() => rsaPkcs1v15Encrypt(publicPem, Buffer.alloc(246)));
    expect((err as ValidationError).code).toBe('RSA_PLAINTEXT_TOO_LONG');
    expect((err as ValidationError).message).toContain('at most 245 bytes; got 246');
  });
});

describe('decodeEncryptRandomKey', () => {
  it('decodes standard base64, tolerating surrounding whitespace', () => {
    const bytes = randomBytes(256);
    expect(decodeEncryptRandomKey(bytes.toString('base64'))).toEqual(bytes);
    expect(decodeEncryptRandomKey(`\r\n\t ${bytes.toString('base64')} \n`)).toEqual(bytes);
    expect(decodeEncryptRandomKey('QQ==')).toEqual(Buffer.from('A'));
  });

  it.each([
    ['empty', ''],
    ['whitespace only', '   '],
    ['a character outside the alphabet', 'QUJD*EVG'],
    ['URL-safe alphabet', 'ab-_'],
    ['missing padding', 'QQ'],
    ['a line break inside', 'QUJD\nREVG'],
    ['padding in the middle', 'QQ==QUJD'],
    ['non-canonical trailing bits', 'QR=='],
    ['URL-encoded', 'QUJD%2BREVG'],
  ])('rejects %s with BAD_BASE64', (_name, value) => {
    const err = catchError(() => decodeEncryptRandomKey(value));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('BAD_BASE64');
    expect((err as ValidationError).message).toMatch(/exactly as GetChatData returned it/);
  });
});
