import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../errors/errors.ts';
import { generateRsaKeyPair, parseRsaPrivateKey, privateKeyToPkcs8Pem, publicKeyFingerprint, publicKeyPemOf, rsaKeyBits } from './rsa-key.ts';

let dir: string;

/** Runs openssl in the temp dir and returns the named output file's text. */
function openssl(args: string[], outFile: string): string {
  execFileSync('openssl', [args[0] as string, '-out', outFile, ...args.slice(1)], { cwd: dir, stdio: 'pipe' });
  return readFileSync(join(dir, outFile), 'utf8');
}

function bodyOf(pem: string): string {
  return pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
}

/** Expects a ValidationError with this code, and checks no piece of `secretPem` leaked into the message. */
function expectRejected(input: string | Buffer, code: string, messagePart: RegExp, secretPem?: string): void {
  let caught: unknown;
  try {
    parseRsaPrivateKey(input);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  const err = caught as ValidationError;
  expect(err.code).toBe(code);
  expect(err.message).toMatch(messagePart);
  if (secretPem !== undefined) {
    const body = bodyOf(secretPem);
    for (let i = 0; i + 16 <= body.length; i += 16) expect(err.message).not.toContain(body.slice(i, i + 16));
  }
}

let pkcs8Pem: string;
let pkcs1Pem: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rsa-key-test-'));
  pkcs8Pem = openssl(['genrsa', '2048'], 'k.pem');
  pkcs1Pem = openssl(['rsa', '-in', 'k.pem', '-traditional'], 'k1.pem');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('parseRsaPrivateKey accepts what people paste', () => {
  it('reads PKCS#8 and PKCS#1 PEM as the same key', () => {
    expect(pkcs8Pem).toContain('-----BEGIN PRIVATE KEY-----');
    expect(pkcs1Pem).toContain('-----BEGIN RSA PRIVATE KEY-----');
    const a = parseRsaPrivateKey(pkcs8Pem);
    const b = parseRsaPrivateKey(pkcs1Pem);
    expect(a.type).toBe('private');
    expect(publicKeyFingerprint(a)).toBe(publicKeyFingerprint(b));
    expect(rsaKeyBits(a)).toBe(2048);
  });

  it('reads header-less bodies (PKCS#8 and PKCS#1), folded at odd widths with CRLF, tabs and blank lines', () => {
    const expected = publicKeyFingerprint(parseRsaPrivateKey(pkcs8Pem));
    for (const pem of [pkcs8Pem, pkcs1Pem]) {
      const body = bodyOf(pem);
      const folded = (body.match(/.{1,37}/g) ?? []).map((line, i) => (i % 3 === 0 ? ` ${line}\t` : line)).join('\r\n\r\n');
      expect(publicKeyFingerprint(parseRsaPrivateKey(body))).toBe(expected);
      expect(publicKeyFingerprint(parseRsaPrivateKey(`\n\n  ${folded}  \n`))).toBe(expected);
    }
  });

  it('reads PEM with CRLF, indentation, a BOM, literal \\n escapes, a missing END line or a relabelled body', () => {
    const expected = publicKeyFingerprint(parseRsaPrivateKey(pkcs8Pem));
    const variants = [
      pkcs1Pem.replace(/\n/g, '\r\n'),
      `\uFEFF  ${pkcs8Pem
        .split('\n')
        .map((l) => `   ${l}`)
        .join('\n')}\n\n`,
      pkcs8Pem.trim().replace(/\n/g, '\\n'),
      pkcs8Pem.replace(/-----END PRIVATE KEY-----\s*$/, ''),
      pkcs8Pem.replace(/-----BEGIN PRIVATE KEY-----/, ''),
      pkcs1Pem.replace(/RSA PRIVATE KEY/g, 'PRIVATE KEY'),
      `-----BEGIN PRIVATE KEY-----${bodyOf(pkcs8Pem)}-----END PRIVATE KEY-----`,
    ];
    for (const v of variants) expect(publicKeyFingerprint(parseRsaPrivateKey(v))).toBe(expected);
  });

  it('reads the private key out of a combined certificate + key PEM', () => {
    const cert = openssl(['req', '-x509', '-new', '-key', 'k.pem', '-subj', '/CN=test', '-days', '1'], 'cert.pem');
    const key = parseRsaPrivateKey(`${cert}\n${pkcs1Pem}`);
    expect(publicKeyFingerprint(key)).toBe(publicKeyFingerprint(parseRsaPrivateKey(pkcs8Pem)));
  });

  it('reads DER bytes (PKCS#1 and PKCS#8) and PEM given as a Buffer', () => {
    execFileSync('openssl', ['rsa', '-in', 'k.pem', '-traditional', '-outform', 'DER', '-out', 'k1.der'], { cwd: dir, stdio: 'pipe' });
    execFileSync('openssl', ['pkcs8', '-topk8', '-nocrypt', '-in', 'k.pem', '-outform', 'DER', '-out', 'k8.der'], { cwd: dir, stdio: 'pipe' });
    const expected = publicKeyFingerprint(parseRsaPrivateKey(pkcs8Pem));
    for (const der of [readFileSync(join(dir, 'k1.der')), readFileSync(join(dir, 'k8.der')), Buffer.from(pkcs1Pem)]) {
      expect(publicKeyFingerprint(parseRsaPrivateKey(der))).toBe(expected);
    }
  });
});

describe('parseRsaPrivateKey rejects with a message that says what to do', () => {
  it('rejects empty and whitespace-only input', () => {
    expectRejected('', 'RSA_KEY_EMPTY', /empty/);
    expectRejected(' \r\n\t ', 'RSA_KEY_EMPTY', /empty/);
    expectRejected(Buffer.alloc(0), 'RSA_KEY_EMPTY', /empty/);
  });

  it('rejects encrypted keys (PKCS#8 and traditional Proc-Type) and says to decrypt with openssl', () => {
    const enc8 = openssl(['pkcs8', '-topk8', '-in', 'k.pem', '-v2', 'aes-256-cbc', '-passout', 'pass:secret'], 'enc8.pem');
    const enc1 = openssl(['rsa', '-in', 'k.pem', '-traditional', '-aes256', '-passout', 'pass:secret'], 'enc1.pem');
    expect(enc8).toContain('ENCRYPTED PRIVATE KEY');
    expect(enc1).toContain('Proc-Type: 4,ENCRYPTED');
    expectRejected(enc8, 'RSA_KEY_ENCRYPTED', /decrypt it first with `openssl/, enc8);
    expectRejected(enc1, 'RSA_KEY_ENCRYPTED', /decrypt it first with `openssl/, enc1);
    execFileSync('openssl', ['pkcs8', '-topk8', '-in', 'k.pem', '-passout', 'pass:secret', '-outform', 'DER', '-out', 'enc8.der'], {
      cwd: dir,
      stdio: 'pipe',
    });
    expectRejected(readFileSync(join(dir, 'enc8.der')), 'RSA_KEY_ENCRYPTED', /decrypt it first/);
  });

  it('rejects a public key, in PEM, bare body and DER form', () => {
    const pub = openssl(['rsa', '-in', 'k.pem', '-pubout'], 'pub.pem');
    expectRejected(pub, 'RSA_KEY_IS_PUBLIC', /this is a public key; the private key is needed/i);
    expectRejected(bodyOf(pub), 'RSA_KEY_IS_PUBLIC', /this is a public key; the private key is needed/i);
    const rsaPub = openssl(['rsa', '-in', 'k.pem', '-RSAPublicKey_out'], 'rsapub.pem');
    expectRejected(rsaPub, 'RSA_KEY_IS_PUBLIC', /public key/);
    expectRejected(createPublicKey(pkcs8Pem).export({ type: 'spki', format: 'der' }), 'RSA_KEY_IS_PUBLIC', /public key/);
  });

  it('rejects a certificate', () => {
    const cert = openssl(['req', '-x509', '-new', '-key', 'k.pem', '-subj', '/CN=test', '-days', '1'], 'cert2.pem');
    expectRejected(cert, 'RSA_KEY_IS_PUBLIC', /certificate, which holds only a public key; the private key is needed/);
    expectRejected(bodyOf(cert), 'RSA_KEY_IS_PUBLIC', /certificate/);
  });

  it('rejects a 1024-bit RSA key and names its size', () => {
    const small = openssl(['genrsa', '1024'], 'small.pem');
    expectRejected(small, 'RSA_KEY_TOO_SMALL', /is 1024 bits; at least 2048 bits are required/, small);
  });

  it('rejects EC keys (SEC1 and PKCS#8) and names the type', () => {
    const sec1 = openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout'], 'ec1.pem');
    const withParams = openssl(['ecparam', '-name', 'secp384r1', '-genkey'], 'ec2.pem');
    const p8 = openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ec8.pem');
    expect(sec1).toContain('BEGIN EC PRIVATE KEY');
    expectRejected(sec1, 'RSA_KEY_NOT_RSA', /This is an EC \(P-256\) private key; WeCom chat archiving needs an RSA key/, sec1);
    expectRejected(withParams, 'RSA_KEY_NOT_RSA', /EC \(P-384\)/);
    expectRejected(bodyOf(sec1), 'RSA_KEY_NOT_RSA', /EC \(P-256\)/);
    expectRejected(p8, 'RSA_KEY_NOT_RSA', /EC \(P-256\)/, p8);
  });

  it('rejects Ed25519 and RSA-PSS keys and names the type', () => {
    expectRejected(openssl(['genpkey', '-algorithm', 'ed25519'], 'ed.pem'), 'RSA_KEY_NOT_RSA', /an Ed25519 private key/);
    // as PEM, not as key objects that share the generation job's lock (test/support/rsa-pem.ts)
    const pss = generateKeyPairSync('rsa-pss', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    }).privateKey;
    expectRejected(pss, 'RSA_KEY_NOT_RSA', /RSA-PSS/);
  });

  it('rejects a file with two private keys instead of taking the first', () => {
    const other = openssl(['genrsa', '2048'], 'other.pem');
    expectRejected(`${pkcs8Pem}\n${other}`, 'RSA_KEY_AMBIGUOUS', /holds 2 private keys; give one key per file/, other);
    expectRejected(`${pkcs1Pem}${pkcs8Pem}`, 'RSA_KEY_AMBIGUOUS', /2 private keys/, pkcs8Pem);
  });

  it('rejects garbage: random text, broken base64, truncated keys, random bytes, unknown PEM blocks', () => {
    const truncated = pkcs8Pem.slice(0, pkcs8Pem.length / 2);
    expectRejected('hello, this is not a key', 'RSA_KEY_UNREADABLE', /not a readable RSA private key/);
    expectRejected('QUJDREVGR0g=', 'RSA_KEY_UNREADABLE', /check that the whole key was copied/);
    expectRejected(bodyOf(pkcs8Pem).slice(0, 800), 'RSA_KEY_UNREADABLE', /not a readable/, pkcs8Pem);
    expectRejected(truncated, 'RSA_KEY_UNREADABLE', /whole key/, pkcs8Pem);
    expectRejected(Buffer.from([0x30, 0x82, 0x01, 0x00, 0xff, 0xee]), 'RSA_KEY_UNREADABLE', /not a readable/);
    expectRejected('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----', 'RSA_KEY_UNREADABLE', /ssh-keygen/);
    expectRejected('-----BEGIN PGP MESSAGE-----\nabcd\n-----END PGP MESSAGE-----', 'RSA_KEY_UNREADABLE', /"PGP MESSAGE", not a private key/);
  });
});

describe('key helpers', () => {
  it('generates an RSA-2048 pair whose public PEM matches the private key', () => {
    const { privateKey, publicKeyPem } = generateRsaKeyPair();
    expect(rsaKeyBits(privateKey)).toBe(2048);
    expect(privateKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
    expect(publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(publicKeyPemOf(privateKey)).toBe(publicKeyPem);
  });

  it('exports PKCS#8 PEM that parses back to the same key', () => {
    const key = parseRsaPrivateKey(pkcs1Pem);
    const pem = privateKeyToPkcs8Pem(key);
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(pem.replace(/\s+/g, '')).toBe(pkcs8Pem.replace(/\s+/g, ''));
    expect(() => privateKeyToPkcs8Pem(createPublicKey(key))).toThrow(/public key/);
  });

  it('fingerprints the SPKI DER with SHA-256, identically for the private and public halves', () => {
    const key = parseRsaPrivateKey(pkcs8Pem);
    const der = execFileSync('openssl', ['rsa', '-in', 'k.pem', '-pubout', '-outform', 'DER'], { cwd: dir, stdio: 'pipe' });
    const expected = createHash('sha256').update(der).digest('hex');
    expect(publicKeyFingerprint(key)).toBe(expected);
    expect(publicKeyFingerprint(createPublicKey(key))).toBe(expected);
    expect(publicKeyPemOf(key)).toBe(openssl(['rsa', '-in', 'k.pem', '-pubout'], 'pub-fp.pem'));
  });
});
