import { generateKeyPairSync } from 'node:crypto';

/**
 * A new RSA key pair as PEM (the public half SPKI, the private half PKCS#8 or PKCS#1). Generated as
 * PEM, not as key objects, as the product does (src/vault/rsa-key.ts): on Node 20 a key object of
 * the generation shares its job's lock, and reading its details (or exporting it) can start a
 * collection that frees the job, whose destructor waits on that lock. A CI worker hung for good so
 * in bad-input (gdb: ~KeyGenJob under GetRsaKeyDetail).
 */
export function rsaPemPair(bits: number, privateType: 'pkcs8' | 'pkcs1' = 'pkcs8'): { publicKey: string; privateKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: privateType, format: 'pem' },
  });
}
