/**
 * How the simulator encrypts a message, and how DecryptData undoes it.
 *
 * encrypt_random_key is real: RSA PKCS#1 v1.5 under the public key of `publickey_ver`, base64,
 * exactly what WeCom sends. encrypt_chat_msg is the SIMULATOR'S OWN scheme, because the real one
 * is sealed inside libWeWorkFinanceSdk_C.so:
 *
 *   key = SHA-256(random key bytes); AES-256-GCM, 12-byte IV, no AAD;
 *   encrypt_chat_msg = base64(iv || ciphertext || 16-byte tag)
 *
 * Everything per message (random key, IV, RSA padding) is derived from (seed, index, version), so
 * fetching the same seq twice returns byte-identical envelopes, as a real server that stored them
 * would. The RSA padding is still valid PKCS#1 v1.5 type 2; it is just not fresh randomness,
 * which is fine for a simulator and never used with real keys' secrets.
 */
import { constants, createCipheriv, createDecipheriv, createHash, publicEncrypt, type KeyObject } from 'node:crypto';

export const RANDOM_KEY_LENGTH = 32;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export interface MessageSecrets {
  /** the "random key" WeCom RSA-encrypts: 32 ASCII letters and digits */
  readonly randomKey: Buffer;
  readonly iv: Buffer;
  /** non-zero bytes for the PKCS#1 v1.5 padding string */
  readonly padding: Buffer;
}

/** One SHAKE-256 call per message gives key, IV and padding: cheap enough for ≥ 5,000 msgs/s. */
export function messageSecrets(seedKey: Buffer, index: number, version: number, modulusBytes: number): MessageSecrets {
  const psLength = modulusBytes - 3 - RANDOM_KEY_LENGTH;
  const out = createHash('shake256', { outputLength: RANDOM_KEY_LENGTH + IV_LENGTH + psLength })
    .update(seedKey)
    .update(`msg:${index}:${version}`)
    .digest();
  const randomKey = Buffer.alloc(RANDOM_KEY_LENGTH);
  for (let k = 0; k < RANDOM_KEY_LENGTH; k++) randomKey[k] = KEY_ALPHABET.charCodeAt((out[k] as number) % KEY_ALPHABET.length);
  const padding = out.subarray(RANDOM_KEY_LENGTH + IV_LENGTH);
  for (let k = 0; k < padding.length; k++) if (padding[k] === 0) padding[k] = 0x5a;
  return { randomKey, iv: out.subarray(RANDOM_KEY_LENGTH, RANDOM_KEY_LENGTH + IV_LENGTH), padding };
}

/** RSA PKCS#1 v1.5 (EM = 00 02 PS 00 M) with the given padding string; base64 as WeCom sends it. */
export function encryptRandomKey(publicKey: KeyObject, modulusBytes: number, secrets: MessageSecrets): string {
  const em = Buffer.alloc(modulusBytes);
  em[1] = 0x02;
  secrets.padding.copy(em, 2);
  secrets.randomKey.copy(em, modulusBytes - RANDOM_KEY_LENGTH);
  return publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, em).toString('base64');
}

export function encryptChatMsg(randomKey: Buffer, iv: Buffer, plaintext: Buffer): string {
  const cipher = createCipheriv('aes-256-gcm', createHash('sha256').update(randomKey).digest(), iv);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]).toString('base64');
}

export type DecryptOutcome = { ok: true; plaintext: Buffer } | { ok: false; code: number; detail: string };

/**
 * DecryptData(encrypt_key, encrypt_msg) for the simulator's scheme. Codes as the SDK would give
 * them: 10008 when encrypt_key is not a 32-character key (e.g. still base64, or empty), 10006 when
 * the message does not decrypt under it.
 */
export function decryptChatMsg(encryptKey: Buffer, encryptMsg: string): DecryptOutcome {
  if (encryptKey.length !== RANDOM_KEY_LENGTH) {
    return { ok: false, code: 10008, detail: `encrypt_key must be the ${RANDOM_KEY_LENGTH}-byte RSA-decrypted random key, got ${encryptKey.length} bytes` };
  }
  // Buffer.from skips junk and takes the URL-safe alphabet too; encoding back must give the text
  // again (canonical base64). Cheaper than a regular expression over the whole text.
  const raw = Buffer.from(encryptMsg, 'base64');
  if (raw.toString('base64') !== encryptMsg) return { ok: false, code: 10006, detail: 'encrypt_msg is not base64' };
  if (raw.length < IV_LENGTH + TAG_LENGTH) return { ok: false, code: 10006, detail: 'encrypt_msg is too short' };
  try {
    const decipher = createDecipheriv('aes-256-gcm', createHash('sha256').update(encryptKey).digest(), raw.subarray(0, IV_LENGTH));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_LENGTH));
    const plaintext = Buffer.concat([decipher.update(raw.subarray(IV_LENGTH, raw.length - TAG_LENGTH)), decipher.final()]);
    return { ok: true, plaintext };
  } catch {
    return { ok: false, code: 10006, detail: 'encrypt_msg does not decrypt with this encrypt_key' };
  }
}
