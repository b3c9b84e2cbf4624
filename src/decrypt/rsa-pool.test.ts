import { createPublicKey, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateRsaKeyPair } from '../vault/rsa-key.ts';
import { rsaPkcs1v15Encrypt } from '../vault/rsa-pkcs1.ts';
import { RSA_WORKER_NICENESS, RsaPool } from './rsa-pool.ts';

/** The niceness of each thread of this process (Linux: /proc/self/task/<tid>/stat, the 19th field). */
function threadNiceness(): Map<number, number> {
  return new Map(
    readdirSync('/proc/self/task').map((tid) => {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // the fields after the command name, which is in parentheses and may hold spaces: state is the 3rd
      return [Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3])];
    }),
  );
}

const niced = (): number => [...threadNiceness().values()].filter((n) => n >= RSA_WORKER_NICENESS).length;

describe('RsaPool', () => {
  const pool = new RsaPool(2);
  afterAll(() => pool.close());
  // from PEM (generateRsaKeyPair): a key object sharing the generation job's lock can deadlock Node 20
  const keyPair = () => {
    const { privateKey, publicKeyPem } = generateRsaKeyPair();
    return { privateKey, publicKey: createPublicKey(publicKeyPem) };
  };
  const v1 = keyPair();
  const v2 = keyPair();

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

  it.runIf(process.platform === 'linux')('runs its workers at a lower priority than the main thread, which keeps its own', async () => {
    const before = niced();
    const another = new RsaPool(3);
    try {
      another.setKeys('ww1', new Map([[1, v1.privateKey]]));
      // a batch answered: every worker of the pool has started
      const item = { version: 1, encryptRandomKey: rsaPkcs1v15Encrypt(v1.publicKey, Buffer.from('x')).toString('base64') };
      await another.decrypt('ww1', [item, item, item]);
      expect(niced() - before).toBe(3);
      // the main thread's id is the process's
      expect(threadNiceness().get(process.pid)).toBe(0);
    } finally {
      await another.close();
    }
  });
});
