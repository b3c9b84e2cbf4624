/**
 * WeCom callback crypto (WXBizMsgCrypt), as WeCom's official callback samples do it, and checked
 * against the request data of those samples (callback-crypto.test.ts). Pure functions over Node's
 * `crypto`: no I/O, no logs, so no secret or decrypted content can leak from here.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError, ValidationError } from '../errors/errors.ts';

/** The numeric codes of the official sample library (Python `ierror.py`, Go constants). */
export const WECOM_CALLBACK_CODES = Object.freeze({
  CALLBACK_BAD_SIGNATURE: -40001,
  CALLBACK_BAD_AES_KEY: -40004,
  CALLBACK_RECEIVEID_MISMATCH: -40005,
  CALLBACK_AES_ENCRYPT: -40006,
  CALLBACK_AES_DECRYPT: -40007,
  CALLBACK_BAD_BUFFER: -40008,
  CALLBACK_BAD_BASE64: -40010,
} as const);

/** A stable code of a callback crypto error. */
export type CallbackCryptoCode = keyof typeof WECOM_CALLBACK_CODES;

/**
 * A callback could not be verified or decrypted. `wecomCallbackCode` is the sample library's number
 * (-40001 …) so logs and support threads can be matched to WeCom's documentation. The HTTP status is
 * 4xx, not CryptoError's 500: a bad callback is the sender's fault (or an attack), not ours.
 */
export class CallbackCryptoError extends CryptoError {
  readonly wecomCallbackCode: number;
  override readonly httpStatus: number;

  constructor(code: CallbackCryptoCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.wecomCallbackCode = WECOM_CALLBACK_CODES[code];
    this.httpStatus = code === 'CALLBACK_BAD_SIGNATURE' ? 403 : 400;
  }
}

/** Callback input is malformed before any crypto runs (bad EncodingAESKey, bad base64). */
export class CallbackInputError extends ValidationError {
  readonly wecomCallbackCode: number;

  constructor(code: CallbackCryptoCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.wecomCallbackCode = WECOM_CALLBACK_CODES[code];
  }
}

/** WeCom pads (PKCS#7) to a multiple of 32 bytes, not AES's 16 (the official samples' pad values 22 and 30 prove it). */
const PAD_BLOCK = 32;
const RANDOM_LENGTH = 16;
const LENGTH_FIELD = 4;
const ENCODING_AES_KEY = /^[A-Za-z0-9]{43}$/;
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// fatal: a message or receiveid that is not valid UTF-8 is a corrupt buffer, not text to guess at.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Turns the 43-character EncodingAESKey of the callback settings into the 32-byte AES key.
 * The key never appears in the error message.
 */
export function parseEncodingAesKey(k: string): Buffer {
  if (typeof k !== 'string' || !ENCODING_AES_KEY.test(k)) {
    throw new CallbackInputError(
      'CALLBACK_BAD_AES_KEY',
      'the callback EncodingAESKey must be exactly 43 letters and digits; copy it again from the app\'s "API receive" settings in the WeCom admin console',
    );
  }
  // The 43rd character carries 2 spare bits that are often non-zero (the official sample key ends
  // in "C"), so no canonical-encoding check here: any 43 alphanumerics decode to 32 bytes.
  return Buffer.from(`${k}=`, 'base64');
}

/**
 * The callback signature: lower-case hex SHA-1 of the four values sorted lexicographically and
 * concatenated. `encrypted` is the echostr of the GET or the Encrypt value of the POST.
 */
export function callbackSignature(token: string, timestamp: string, nonce: string, encrypted: string): string {
  // Default sort compares UTF-16 code units; all four values are ASCII, where that equals byte order.
  const parts = [token, timestamp, nonce, encrypted].sort();
  return createHash('sha1').update(parts.join(''), 'utf8').digest('hex');
}

/**
 * Checks `signature` (msg_signature) in constant time. A signature of the wrong length is simply
 * false: timingSafeEqual throws on unequal lengths, and the length of a SHA-1 hex is public anyway.
 */
export function verifyCallbackSignature(token: string, timestamp: string, nonce: string, encrypted: string, signature: string): boolean {
  const expected = Buffer.from(callbackSignature(token, timestamp, nonce, encrypted), 'utf8');
  const given = Buffer.from(String(signature), 'utf8');
  if (given.length !== expected.length) return false;
  return timingSafeEqual(given, expected);
}

/** The plaintext of a callback: the message itself, the receiveid it was addressed to and the random prefix. */
export interface DecryptedCallback {
  message: string;
  receiveId: string;
  random: Buffer;
}

/**
 * Decrypts an echostr or Encrypt value. Verify the signature first (verifyCallbackSignature): the
 * signature is what authenticates the ciphertext, and checking it first keeps the distinct pad and
 * length errors below from becoming a padding oracle.
 *
 * @param expectedReceiveId the corpid (or suiteid, or "" for robots); null skips the check.
 */
export function decryptCallbackMessage(aesKey: Buffer, encrypted: string, expectedReceiveId: string | null): DecryptedCallback {
  assertKey(aesKey);
  if (typeof encrypted !== 'string' || encrypted.length === 0 || !STRICT_BASE64.test(encrypted)) {
    throw new CallbackInputError('CALLBACK_BAD_BASE64', 'the callback ciphertext is not valid base64; if "+" became a space, the query string was decoded as a form');
  }
  const ciphertext = Buffer.from(encrypted, 'base64');
  // Canonical form only: non-zero spare bits would let two strings carry one ciphertext.
  if (ciphertext.toString('base64') !== encrypted) {
    throw new CallbackInputError('CALLBACK_BAD_BASE64', 'the callback ciphertext is not canonical base64');
  }
  // CBC keeps the length, and the plaintext was padded to a multiple of 32 bytes.
  if (ciphertext.length === 0 || ciphertext.length % PAD_BLOCK !== 0) {
    throw new CallbackCryptoError('CALLBACK_AES_DECRYPT', 'the callback ciphertext has an impossible length');
  }

  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', aesKey, aesKey.subarray(0, 16));
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new CallbackCryptoError('CALLBACK_AES_DECRYPT', 'the callback could not be decrypted', { cause });
  }

  const pad = plain[plain.length - 1] ?? 0;
  let padOk = pad >= 1 && pad <= PAD_BLOCK;
  // Every pad byte is checked, not just the last: a wrong key or tampered block almost never
  // yields a full valid pad, so this is what turns "wrong key" into an error instead of garbage.
  for (let i = 1; padOk && i <= pad; i++) {
    if (plain[plain.length - i] !== pad) padOk = false;
  }
  if (!padOk) {
    throw new CallbackCryptoError(
      'CALLBACK_AES_DECRYPT',
      'the callback could not be decrypted (bad padding); check that the EncodingAESKey matches the one in the WeCom admin console',
    );
  }
  const content = plain.subarray(0, plain.length - pad);

  if (content.length < RANDOM_LENGTH + LENGTH_FIELD) {
    throw new CallbackCryptoError('CALLBACK_BAD_BUFFER', 'the decrypted callback is too short');
  }
  const random = Buffer.from(content.subarray(0, RANDOM_LENGTH));
  const messageLength = content.readUInt32BE(RANDOM_LENGTH);
  const messageStart = RANDOM_LENGTH + LENGTH_FIELD;
  if (messageLength > content.length - messageStart) {
    throw new CallbackCryptoError('CALLBACK_BAD_BUFFER', 'the decrypted callback declares a message longer than it carries');
  }
  let message: string;
  let receiveId: string;
  try {
    message = utf8.decode(content.subarray(messageStart, messageStart + messageLength));
    receiveId = utf8.decode(content.subarray(messageStart + messageLength));
  } catch (cause) {
    throw new CallbackCryptoError('CALLBACK_BAD_BUFFER', 'the decrypted callback is not valid UTF-8', { cause });
  }

  if (expectedReceiveId !== null && receiveId !== expectedReceiveId) {
    // Neither value goes into the message: the received one is decrypted content.
    throw new CallbackCryptoError(
      'CALLBACK_RECEIVEID_MISMATCH',
      'the callback was addressed to a different receiveid; check the corpid (or suiteid) configured for this callback URL',
    );
  }
  return { message, receiveId, random };
}

/**
 * Encrypts a message the way WeCom does: random(16) || length(4, big-endian) || message || receiveId,
 * PKCS#7-padded to 32 bytes, AES-256-CBC with IV = key[0:16], base64.
 *
 * @param random 16 bytes; fresh random bytes when omitted (pass them only in tests and the simulator).
 */
export function encryptCallbackMessage(aesKey: Buffer, message: string, receiveId: string, random?: Buffer): string {
  assertKey(aesKey);
  const prefix = random ?? randomBytes(RANDOM_LENGTH);
  if (prefix.length !== RANDOM_LENGTH) {
    throw new ValidationError('CALLBACK_BAD_RANDOM', `the random prefix must be ${RANDOM_LENGTH} bytes`);
  }
  const body = Buffer.from(message, 'utf8');
  const length = Buffer.alloc(LENGTH_FIELD);
  length.writeUInt32BE(body.length);
  const content = Buffer.concat([prefix, length, body, Buffer.from(receiveId, 'utf8')]);
  const pad = PAD_BLOCK - (content.length % PAD_BLOCK);
  const padded = Buffer.concat([content, Buffer.alloc(pad, pad)]);
  try {
    const cipher = createCipheriv('aes-256-cbc', aesKey, aesKey.subarray(0, 16));
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
  } catch (cause) {
    throw new CallbackCryptoError('CALLBACK_AES_ENCRYPT', 'the callback reply could not be encrypted', { cause });
  }
}

/** What buildEncryptedReply needs; timestamp and nonce are echoed as given (strings, as WeCom sends them). */
export interface EncryptedReplyInput {
  token: string;
  aesKey: Buffer;
  receiveId: string;
  message: string;
  timestamp: string;
  nonce: string;
}

/**
 * The encrypted passive reply to a callback: Encrypt, MsgSignature over [token, timestamp, nonce, Encrypt],
 * TimeStamp (not CDATA) and Nonce.
 */
export function buildEncryptedReply(input: EncryptedReplyInput): string {
  const { token, aesKey, receiveId, message, timestamp, nonce } = input;
  // TimeStamp goes out without CDATA and nonce inside one, so neither may carry markup.
  if (!/^\d{1,20}$/.test(timestamp)) {
    throw new ValidationError('CALLBACK_BAD_TIMESTAMP', 'the reply timestamp must be decimal digits (seconds)');
  }
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(nonce)) {
    throw new ValidationError('CALLBACK_BAD_NONCE', 'the reply nonce must be 1 to 64 letters, digits, "_" or "-"');
  }
  const encrypted = encryptCallbackMessage(aesKey, message, receiveId);
  const signature = callbackSignature(token, timestamp, nonce, encrypted);
  return (
    `<xml><Encrypt><![CDATA[${encrypted}]]></Encrypt>` +
    `<MsgSignature><![CDATA[${signature}]]></MsgSignature>` +
    `<TimeStamp>${timestamp}</TimeStamp>` +
    `<Nonce><![CDATA[${nonce}]]></Nonce></xml>`
  );
}

function assertKey(aesKey: Buffer): void {
  if (!Buffer.isBuffer(aesKey) || aesKey.length !== 32) {
    throw new CallbackInputError('CALLBACK_BAD_AES_KEY', 'the callback AES key must be 32 bytes (use parseEncodingAesKey)');
  }
}
