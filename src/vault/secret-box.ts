/**
 * Sealing of secrets at rest (corp secrets, callback keys, RSA private keys) with AES-256-GCM under
 * the archive master key. A sealed value is self-describing text, `v1:<base64(iv || tag || ciphertext)>`,
 * so it fits in any text column and a future format can be told apart by its prefix.
 *
 * The aad names the place a secret belongs (e.g. `corp:ww123:secret`); opening it under another
 * name fails, so a value copied between rows or columns cannot be passed off as another secret.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CryptoError } from '../errors/errors.ts';

const PREFIX = 'v1:';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Encrypts and authenticates a secret under the 32-byte master key, bound to `aad`.
 * A fresh random 12-byte IV is used for every call, so sealing the same secret twice gives different text.
 */
export function sealSecret(masterKey: Buffer, plaintext: Buffer | string, aad: string): string {
  checkMasterKey(masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/**
 * Opens a value made by sealSecret with the same master key and aad. Any failure (wrong key, wrong
 * aad, damaged or unknown format) throws CryptoError 'SECRET_DECRYPT_FAILED'.
 */
export function openSecret(masterKey: Buffer, sealed: string, aad: string): Buffer {
  checkMasterKey(masterKey);
  const body = sealed.startsWith(PREFIX) ? sealed.slice(PREFIX.length) : undefined;
  const raw = body !== undefined && /^[A-Za-z0-9+/]*={0,2}$/.test(body) ? Buffer.from(body, 'base64') : undefined;
  if (raw === undefined || raw.length < IV_BYTES + TAG_BYTES) {
    throw new CryptoError(
      'SECRET_DECRYPT_FAILED',
      `The secret stored for "${aad}" is not a sealed value (expected "v1:…"); it was damaged or edited by hand. ` + 'Enter the secret again to store it afresh.',
    );
  }
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const ciphertext = raw.subarray(IV_BYTES + TAG_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (err) {
    throw new CryptoError(
      'SECRET_DECRYPT_FAILED',
      `Could not open the secret stored for "${aad}": the master key does not match the one these secrets were sealed with; ` +
        'set WECOM_ARCHIVE_MASTER_KEY to the original key or restore the key file (master.key in the data directory).',
      { cause: err },
    );
  }
}

function checkMasterKey(masterKey: Buffer): void {
  // A wrong-sized key is a programming error, but Node's "Invalid key length" would not say which key.
  if (masterKey.length !== KEY_BYTES) {
    throw new CryptoError('MASTER_KEY_INVALID', `The master key must be ${KEY_BYTES} bytes; got ${masterKey.length}.`);
  }
}
