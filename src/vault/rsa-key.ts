/**
 * RSA private keys (2048-bit, one per publickey_ver) that decrypt each message's `encrypt_random_key`
 * (PKCS#1 v1.5; the result goes to DecryptData as is): reading what users paste,
 * generating a new pair, and the derived values we show (public key PEM, fingerprint).
 *
 * Error messages here never contain key material: only PEM labels, key types and sizes.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ValidationError } from '../errors/errors.ts';

/** WeCom documents 2048-bit keys; anything smaller is too weak to protect the message keys. */
const MIN_RSA_BITS = 2048;

const GENERATE_HINT = 'generate one with `openssl genrsa -out private.pem 2048` and set its public key in the WeCom admin console';
const WANTED = 'the private key (text beginning with -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)';

const PUBLIC_KEY_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY']);
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/**
 * Parses an RSA private key the way users actually supply it.
 *
 * Accepts PKCS#1 or PKCS#8 PEM, with or without the BEGIN/END lines, with stray whitespace, CRLF,
 * blank lines, literal `\n` escapes (keys copied out of JSON) and any line width; or DER bytes.
 * Rejects, with a ValidationError saying what to do: empty input, encrypted keys, public keys and
 * certificates, non-RSA keys, RSA keys under 2048 bits, and anything unreadable.
 */
export function parseRsaPrivateKey(input: string | Buffer): KeyObject {
  if (Buffer.isBuffer(input) && !looksLikeText(input)) {
    return checkRsaPrivateKey(keyFromDer(input));
  }
  const text = (Buffer.isBuffer(input) ? input.toString('utf8') : input)
    .replace(/^\uFEFF/, '')
    // Keys pasted out of JSON or .env files often carry the escapes instead of real line breaks.
    .replace(/\\[rnt]/g, '\n')
    .trim();
  if (text === '') {
    throw new ValidationError('RSA_KEY_EMPTY', `The RSA private key is empty; paste ${WANTED} whose public key is set in the WeCom admin console.`);
  }
  if (/ENCRYPTED PRIVATE KEY|Proc-Type:\s*4\s*,\s*ENCRYPTED/i.test(text)) {
    throw encryptedKeyError();
  }
  if (text.includes('-----BEGIN')) {
    return checkRsaPrivateKey(keyFromPem(text));
  }
  // A body copied without its first line still has the END line; it carries no information.
  return checkRsaPrivateKey(keyFromDer(decodeBase64Body(text.replace(/-----END [A-Z0-9 ]+-----/g, ''))));
}

/**
 * Generates a new RSA-2048 key pair (e = 65537); the public PEM is what goes into the admin console.
 * The key object is made from the generated PEM, so that it shares no lock with the generation
 * job: on Node 20, reading such a key's details could start a collection that frees the job, whose
 * destructor waits on that lock (a test worker hung so, src/simulator/sdk/key-ring.ts).
 */
export function generateRsaKeyPair(): { privateKey: KeyObject; publicKeyPem: string } {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: MIN_RSA_BITS,
    publicExponent: 65537,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKey: createPrivateKey(pair.privateKey), publicKeyPem: pair.publicKey };
}

/** Exports a private key as unencrypted PKCS#8 PEM (the form we store, sealed, at rest). */
export function privateKeyToPkcs8Pem(key: KeyObject): string {
  if (key.type !== 'private') {
    throw new ValidationError('RSA_KEY_NOT_PRIVATE', 'Only a private key can be exported as PKCS#8; this is a public key.');
  }
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The SPKI PEM of a key's public half: what a user pastes into WeCom's admin console. */
export function publicKeyPemOf(privateKey: KeyObject): string {
  return publicHalf(privateKey).export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Hex SHA-256 of the SPKI DER of the key's public half. Safe to show and log; it lets a user match
 * a stored private key to the public key set in the admin console.
 */
export function publicKeyFingerprint(key: KeyObject): string {
  const spki = publicHalf(key).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

/** Modulus size of an RSA key in bits. */
export function rsaKeyBits(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType !== 'rsa' || bits === undefined) {
    throw new ValidationError('RSA_KEY_NOT_RSA', `Expected an RSA key but got ${describeKeyType(key)}.`);
  }
  return bits;
}

/** createPublicKey() refuses a KeyObject that is already public. */
function publicHalf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

/** A Buffer holding PEM or base64 text is pure printable ASCII; DER starts 0x30 0x8x and is not. */
function looksLikeText(buf: Buffer): boolean {
  let start = 0;
  if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) start = 3; // UTF-8 BOM
  for (let i = start; i < buf.length; i++) {
    const b = buf[i] as number;
    if (!(b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b <= 0x7e))) return false;
  }
  return true;
}

function keyFromPem(text: string): KeyObject {
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)(?:-----END \1-----|$)/g)].map((m) => ({
    label: m[1] as string,
    body: m[2] as string,
  }));
  // A combined PEM (certificate + key, or EC PARAMETERS + key) is common: prefer the private key.
  const privateBlocks = blocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
  if (privateBlocks.length > 1) {
    // Taking the first would store a key for this version that may not be the one WeCom encrypts to.
    throw new ValidationError(
      'RSA_KEY_AMBIGUOUS',
      `This file holds ${privateBlocks.length} private keys; give one key per file: the one whose public key the WeCom admin console shows for this version.`,
    );
  }
  const block = privateBlocks[0] ?? blocks[0];
  if (block === undefined) throw unreadableKeyError();
  const { label } = block;
  if (PUBLIC_KEY_LABELS.has(label)) throw publicKeyError('public key');
  if (CERTIFICATE_LABELS.has(label)) throw publicKeyError('certificate');
  if (CSR_LABELS.has(label)) throw publicKeyError('certificate request');
  if (label === 'OPENSSH PRIVATE KEY') {
    throw new ValidationError(
      'RSA_KEY_UNREADABLE',
      'This is an OpenSSH-format key; convert it first with `ssh-keygen -p -m PKCS8 -f <file>` (it rewrites the file), or ' + `${GENERATE_HINT}.`,
    );
  }
  if (label === 'DSA PRIVATE KEY') throw notRsaError('a DSA');
  if (!label.endsWith('PRIVATE KEY')) {
    throw new ValidationError('RSA_KEY_UNREADABLE', `This PEM block is a "${label}", not a private key; paste ${WANTED}.`);
  }
  // Whatever the label says, the DER decides: people relabel PKCS#1 bodies as PKCS#8 and vice versa.
  return keyFromDer(decodeBase64Body(block.body));
}

/** Strips every kind of whitespace from a PEM body, then decodes it as (standard) base64. */
function decodeBase64Body(body: string): Buffer {
  const compact = body.replace(/\s+/g, '');
  // Missing '=' padding is tolerated (it is lost easily when copying); '-'/'_' and stray symbols are not.
  if (compact === '' || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) {
    throw unreadableKeyError();
  }
  return Buffer.from(compact, 'base64');
}

/** Tries PKCS#8 then PKCS#1; if neither, works out what else the DER is to give a useful error. */
function keyFromDer(der: Buffer): KeyObject {
  let lastError: unknown;
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_MISSING_PASSPHRASE') throw encryptedKeyError();
      lastError = err;
    }
  }
  try {
    const ec = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
    throw notRsaError(describeKeyType(ec));
  } catch (err) {
    if (err instanceof ValidationError) throw err;
  }
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      createPublicKey({ key: der, format: 'der', type });
      throw publicKeyError('public key');
    } catch (err) {
      if (err instanceof ValidationError) throw err;
    }
  }
  try {
    new X509Certificate(der);
    throw publicKeyError('certificate');
  } catch (err) {
    if (err instanceof ValidationError) throw err;
  }
  throw unreadableKeyError(lastError);
}

function checkRsaPrivateKey(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'rsa') throw notRsaError(describeKeyType(key));
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new ValidationError('RSA_KEY_TOO_SMALL', `This RSA key is ${bits} bits; at least ${MIN_RSA_BITS} bits are required. Please ${GENERATE_HINT}.`);
  }
  return key;
}

/** "an EC (P-256)", "an Ed25519", "an RSA-PSS" … for error messages. */
function describeKeyType(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === undefined ? 'an EC' : `an EC (${CURVE_NAMES[curve] ?? curve})`;
    }
    case 'ed25519':
      return 'an Ed25519';
    case 'ed448':
      return 'an Ed448';
    case 'x25519':
      return 'an X25519';
    case 'x448':
      return 'an X448';
    case 'rsa-pss':
      return 'an RSA-PSS (signing-only)';
    case 'dsa':
      return 'a DSA';
    case 'rsa':
      return 'an RSA';
    default:
      return 'an unknown type of';
  }
}

function notRsaError(article: string): ValidationError {
  return new ValidationError('RSA_KEY_NOT_RSA', `This is ${article} private key; WeCom chat archiving needs an RSA key. Please ${GENERATE_HINT}.`);
}

function publicKeyError(what: 'public key' | 'certificate' | 'certificate request'): ValidationError {
  const lead = what === 'public key' ? 'This is a public key; the private key is needed' : `This is a ${what}, which holds only a public key; the private key is needed`;
  return new ValidationError('RSA_KEY_IS_PUBLIC', `${lead}: ${WANTED}, from the same pair as the public key set in the WeCom admin console.`);
}

function encryptedKeyError(): ValidationError {
  return new ValidationError(
    'RSA_KEY_ENCRYPTED',
    'This private key is protected by a passphrase; decrypt it first with `openssl pkey -in encrypted.pem -out private.pem` ' +
      '(it asks for the passphrase) and paste the result. Keys are stored sealed with the archive master key.',
  );
}

function unreadableKeyError(cause?: unknown): ValidationError {
  return new ValidationError(
    'RSA_KEY_UNREADABLE',
    `This is not a readable RSA private key. Paste ${WANTED}, its base64 body alone, or the DER file; ` + 'check that the whole key was copied.',
    // OpenSSL's decoder errors name the failing step only, never key bytes, so they are safe to keep.
    cause === undefined ? {} : { cause },
  );
}
