/**
 * RSA PKCS#1 v1.5 encryption as WeCom uses it for `encrypt_random_key`: WeCom encrypts each message's
 * random key under the corp's public key; the archive base64-decodes it, decrypts it with the private
 * key of its publickey_ver and hands the plaintext to DecryptData as is.
 *
 * Node 20.20 refuses `privateDecrypt` with RSA_PKCS1_PADDING (the CVE-2023-46809 "Marvin" fix), and
 * `--security-revert` would reopen the hole for the whole process. So we decrypt with RSA_NO_PADDING
 * and remove the padding ourselves without branching or indexing on the decrypted bytes until the
 * single valid/invalid verdict at the end, so every failure looks and takes the same.
 */
import { constants, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CryptoError, ValidationError } from '../errors/errors.ts';

/** 0x00 0x02, at least 8 bytes of non-zero padding, 0x00 separator (RFC 8017 §7.2.2). */
const MIN_PADDING_BYTES = 11;
const MIN_PS_BYTES = 8;

const DECRYPT_FAILED_MESSAGE =
  'Could not decrypt encrypt_random_key with this RSA private key: it does not belong to the public key the message ' +
  'was encrypted for, or the value is damaged. Check that the private key configured for this publickey_ver is the one ' +
  'whose public key was set in the WeCom admin console.';

/**
 * Decrypts a PKCS#1 v1.5 (type 2) RSA ciphertext, e.g. a base64-decoded `encrypt_random_key`.
 * Returns the plaintext as-is (it is passed on unchanged as `encrypt_key`). Throws CryptoError
 * 'RSA_CIPHERTEXT_LENGTH' if the ciphertext is not exactly the modulus size, and one generic
 * CryptoError 'RSA_DECRYPT_FAILED' for every other failure.
 */
export function rsaPkcs1v15Decrypt(privateKey: KeyObject, ciphertext: Buffer): Buffer {
  const k = modulusBytes(privateKey);
  if (privateKey.type !== 'private') {
    throw new ValidationError('RSA_KEY_NOT_PRIVATE', 'Decryption needs the RSA private key; a public key was given.');
  }
  // The length is public, so a specific message is safe here. OpenSSL would otherwise quietly
  // left-pad a short (truncated) ciphertext with zeros.
  if (ciphertext.length !== k) {
    throw new CryptoError(
      'RSA_CIPHERTEXT_LENGTH',
      `The RSA ciphertext is ${ciphertext.length} bytes but this ${k * 8}-bit key needs exactly ${k}. ` +
        'Check that encrypt_random_key was copied whole and that the private key for its publickey_ver is used.',
    );
  }

  let em: Buffer;
  try {
    // Fails only for a ciphertext not below the modulus, which depends on public values alone.
    em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch (err) {
    throw new CryptoError('RSA_DECRYPT_FAILED', DECRYPT_FAILED_MESSAGE, { cause: err });
  }
  try {
    return unpadType2(em, k);
  } finally {
    em.fill(0);
  }
}

/**
 * Encrypts with RSA PKCS#1 v1.5 padding (allowed on this Node; the WeCom simulator uses it to make
 * `encrypt_random_key`). Accepts a KeyObject or any PEM Node can read (public or private).
 */
export function rsaPkcs1v15Encrypt(publicKey: KeyObject | string, plaintext: Buffer): Buffer {
  // createPublicKey() derives the public half of a private key or PEM, but refuses a public KeyObject.
  const key = typeof publicKey !== 'string' && publicKey.type === 'public' ? publicKey : createPublicKey(publicKey);
  const k = modulusBytes(key);
  if (plaintext.length > k - MIN_PADDING_BYTES) {
    throw new ValidationError(
      'RSA_PLAINTEXT_TOO_LONG',
      `A ${k * 8}-bit RSA key with PKCS#1 v1.5 padding can encrypt at most ${k - MIN_PADDING_BYTES} bytes; got ${plaintext.length}.`,
    );
  }
  return publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, plaintext);
}

/**
 * Strictly decodes WeCom's base64 `encrypt_random_key` (standard alphabet, '=' padding, canonical
 * trailing bits). Surrounding whitespace is tolerated; anything else throws ValidationError 'BAD_BASE64'.
 */
export function decodeEncryptRandomKey(base64: string): Buffer {
  const text = base64.trim();
  // Buffer.from(…, 'base64') silently skips junk and takes the URL-safe alphabet too, so a damaged
  // value would decode to the wrong length and fail later with a misleading "wrong key" error.
  // Encoding back must give the same text: only canonical standard base64 passes.
  const decoded = text.length > 0 ? Buffer.from(text, 'base64') : undefined;
  if (decoded === undefined || decoded.toString('base64') !== text) {
    throw new ValidationError(
      'BAD_BASE64',
      `encrypt_random_key is not valid base64 (${text.length} characters after trimming). ` +
        'Pass the field exactly as GetChatData returned it, without URL-encoding or line breaks.',
    );
  }
  return decoded;
}

function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) {
    throw new ValidationError('RSA_KEY_NOT_RSA', `PKCS#1 v1.5 encryption needs an RSA key; got a ${key.asymmetricKeyType ?? 'unknown'} key.`);
  }
  return Math.ceil(bits / 8);
}

/*
 * Constant-time helpers on 32-bit masks: -1 (all ones) means true, 0 means false. They use only
 * arithmetic and bitwise operators, so the work done does not depend on the secret byte values.
 */

/** -1 if the byte is 0, else 0. For 0..255, (b - 1) is negative only when b is 0. */
function isZeroMask(b: number): number {
  return (b - 1) >> 31;
}

/** -1 if a >= b, else 0, for 0 <= a, b < 2^31. */
function geMask(a: number, b: number): number {
  return ~((a - b) >> 31);
}

/** a where mask is -1, b where it is 0. */
function select(mask: number, a: number, b: number): number {
  return (mask & a) | (~mask & b);
}

/**
 * Removes EME-PKCS1-v1_5 padding: EM = 0x00 || 0x02 || PS (>= 8 non-zero bytes) || 0x00 || M.
 * The whole block is always scanned, every check is folded into one mask, and the only branch is
 * on the final verdict, so an attacker timing us learns nothing about where or why a block failed.
 */
function unpadType2(em: Buffer, k: number): Buffer {
  // RSA_NO_PADDING always returns exactly k bytes (leading zeros kept); the length is public.
  if (em.length !== k || k < MIN_PADDING_BYTES) {
    throw new CryptoError('RSA_DECRYPT_FAILED', DECRYPT_FAILED_MESSAGE);
  }
  let lookingForSeparator = -1;
  let separatorIndex = 0;
  for (let i = 2; i < k; i++) {
    const zero = isZeroMask(em[i] as number);
    separatorIndex = select(lookingForSeparator & zero, i, separatorIndex);
    lookingForSeparator &= ~zero;
  }
  const good = isZeroMask(em[0] as number) & isZeroMask((em[1] as number) ^ 0x02) & ~lookingForSeparator & geMask(separatorIndex, 2 + MIN_PS_BYTES);
  if (good !== -1) {
    throw new CryptoError('RSA_DECRYPT_FAILED', DECRYPT_FAILED_MESSAGE);
  }
  // Valid from here on; the message length is public once we return the message anyway.
  return Buffer.from(em.subarray(separatorIndex + 1));
}
