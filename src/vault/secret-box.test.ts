import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../errors/errors.ts';
import { openSecret, sealSecret } from './secret-box.ts';

const masterKey = randomBytes(32);
const aad = 'corp:ww123:secret';

function openError(key: Buffer, sealed: string, where: string): CryptoError {
  try {
    openSecret(key, sealed, where);
  } catch (err) {
    expect(err).toBeInstanceOf(CryptoError);
    return err as CryptoError;
  }
  throw new Error('expected openSecret to fail');
}

/** Flips one bit of the decoded payload at `index` and re-encodes. */
function flip(sealed: string, index: number): string {
  const raw = Buffer.from(sealed.slice(3), 'base64');
  raw[index] = (raw[index] as number) ^ 0x01;
  return `v1:${raw.toString('base64')}`;
}

describe('sealSecret / openSecret', () => {
  it('round-trips strings (UTF-8) and binary, including empty values', () => {
    for (const value of ['corp secret 企业微信', '', Buffer.from([0, 255, 1, 0]), randomBytes(2000)]) {
      const sealed = sealSecret(masterKey, value, aad);
      expect(sealed).toMatch(/^v1:[A-Za-z0-9+/]+={0,2}$/);
      expect(openSecret(masterKey, sealed, aad)).toEqual(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    }
  });

  it('lays out iv(12) || tag(16) || ciphertext and uses a fresh IV each time', () => {
    const a = sealSecret(masterKey, 'same secret', aad);
    const b = sealSecret(masterKey, 'same secret', aad);
    expect(a).not.toBe(b);
    const rawA = Buffer.from(a.slice(3), 'base64');
    const rawB = Buffer.from(b.slice(3), 'base64');
    expect(rawA.length).toBe(12 + 16 + Buffer.byteLength('same secret'));
    expect(rawA.subarray(0, 12).equals(rawB.subarray(0, 12))).toBe(false);
    expect(a).not.toContain(Buffer.from('same secret').toString('base64'));
  });

  it('fails with SECRET_DECRYPT_FAILED and a restore hint under a different master key', () => {
    const sealed = sealSecret(masterKey, 'corp secret', aad);
    const err = openError(randomBytes(32), sealed, aad);
    expect(err.code).toBe('SECRET_DECRYPT_FAILED');
    expect(err.message).toContain('the master key does not match the one these secrets were sealed with');
    expect(err.message).toContain('set WECOM_ARCHIVE_MASTER_KEY to the original key or restore the key file');
    expect(err.message).not.toContain('corp secret');
  });

  it('fails when a value is copied to another place (different aad)', () => {
    const sealed = sealSecret(masterKey, 'corp secret', 'corp:ww123:secret');
    expect(openError(masterKey, sealed, 'corp:ww456:secret').code).toBe('SECRET_DECRYPT_FAILED');
    expect(openError(masterKey, sealed, 'corp:ww123:callback_key').code).toBe('SECRET_DECRYPT_FAILED');
  });

  it('fails when the IV, tag or ciphertext is altered', () => {
    const sealed = sealSecret(masterKey, 'corp secret', aad);
    for (const index of [0, 11, 12, 27, 28, 38]) {
      expect(openError(masterKey, flip(sealed, index), aad).code).toBe('SECRET_DECRYPT_FAILED');
    }
    const raw = Buffer.from(sealed.slice(3), 'base64');
    expect(openError(masterKey, `v1:${raw.subarray(0, raw.length - 1).toString('base64')}`, aad).code).toBe('SECRET_DECRYPT_FAILED');
  });

  it('fails with the same code, and says the value is damaged, for malformed text', () => {
    const sealed = sealSecret(masterKey, 'corp secret', aad);
    for (const bad of ['', 'corp secret', sealed.slice(3), `v2:${sealed.slice(3)}`, 'v1:', 'v1:AAAA', 'v1:!!!!', `${sealed}\n`]) {
      const err = openError(masterKey, bad, aad);
      expect(err.code).toBe('SECRET_DECRYPT_FAILED');
      expect(err.message).toMatch(/not a sealed value|master key does not match/);
    }
    expect(openError(masterKey, 'plain text', aad).message).toContain(`The secret stored for "${aad}" is not a sealed value`);
  });

  it('refuses a master key that is not 32 bytes', () => {
    expect(() => sealSecret(randomBytes(16), 'x', aad)).toThrow(/must be 32 bytes; got 16/);
    expect(() => openSecret(randomBytes(31), 'v1:AAAA', aad)).toThrow(CryptoError);
  });
});
