import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rsaPkcs1v15Encrypt } from '../vault/rsa-pkcs1.ts';
import { RsaPool } from './rsa-pool.ts';

describe('RsaPool', () => {
  const pool = new RsaPool(2);
  afterAll(() => pool.close());
  const v1 = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const v2 = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it('decrypts a batch across workers in input order, per key version, with errors per item', async () => {
    pool.setKeys(
      'ww1',
      new Map([
        [1, v1.privateKey],
        [2, v2.privateKey],
      ]),
    );
    const secrets = Array.from({ length: 40 }, () => randomBytes(24).toString('hex'));
    const items = secrets.map((s, i) => {
      const version = i % 2 === 0 ? 1 : 2;
      const pub = version === 1 ? v1.publicKey : v2.publicKey;
      return { version, encryptRandomKey: rsaPkcs1v15Encrypt(pub, Buffer.from(s)).toString('base64') };
    });
    items.push({ version: 1, encryptRandomKey: items[1]!.encryptRandomKey }); // encrypted for v2
    items.push({ version: 3, encryptRandomKey: items[0]!.encryptRandomKey });
    items.push({ version: 1, encryptRandomKey: 'not base64!' });
    const results = await pool.decrypt('ww1', items);
    expect(results.slice(0, 40).map((r) => Buffer.from(r.key!).toString())).toEqual(secrets);
    expect(results.slice(40).map((r) => r.error?.code)).toEqual(['RSA_DECRYPT_FAILED', 'KEY_MISSING', 'BAD_BASE64']);
    expect(pool.hasKey('ww1', 2)).toBe(true);
    expect(pool.hasKey('ww1', 3)).toBe(false);
  });
});
