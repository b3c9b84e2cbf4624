import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptoError, ValidationError } from '../errors/errors.ts';
import { buildEncryptedReply, callbackSignature, decryptCallbackMessage, encryptCallbackMessage, parseEncodingAesKey, verifyCallbackSignature } from './callback-crypto.ts';

// Set A: the token, EncodingAESKey and requests of WeCom's official PHP callback sample (Sample.php).
const A = {
  token: 'QDG6eK',
  encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  receiveId: 'wx5823bf96d3bd56c7',
  get: {
    signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
    timestamp: '1409659589',
    nonce: '263014780',
    echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
    echostrUrlEncoded: 'P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D',
    msg: '1616140317555161061',
    random: 'c41b64491c2468d0',
  },
  post: {
    signature: '477715d11cdb4164915debcba66cb864d751f3e6',
    timestamp: '1409659813',
    nonce: '1372623149',
    encrypt:
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
    random: '0960688932c47ef1',
    msgLength: 284,
    msg: '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>',
  },
};

// Set C: xen0n/go-workwx tests, generated with the official tool.
const C = {
  token: 'kjr2TKI8umCBfVF3wAHk8JiPwma5VBme',
  encodingAesKey: '4Ma3YBrSBbX2aez8MJpXGBne5LSDwgGqHbhM9WPYIws',
  timestamp: '1583940690',
  nonce: 'VHh7ymSeb0jc4lSb',
  echostr: '6KmUQuPVu7UhjyVqRdbo5SfcRqaHvbUlKSHFvBV2ZuR6TIlKsygcfeSd1GDplg1C5KSKr6UPHCaC/nIX3ZNt9w==',
  signature: '1ba3cb09c0d2c2b3ed6900d37f91a6efae6cb011',
  msg: '94966531020182955848408',
  receiveId: 'ww6a112864f8022910',
};

const keyA = parseEncodingAesKey(A.encodingAesKey);
const keyC = parseEncodingAesKey(C.encodingAesKey);

/** Encrypts an arbitrary plaintext (already padded by the caller) so tests can forge bad layouts. */
function rawEncrypt(key: Buffer, plain: Buffer): string {
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function layout(random: Buffer, declaredLength: number, body: Buffer, receiveId: string): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(declaredLength);
  return Buffer.concat([random, len, body, Buffer.from(receiveId)]);
}

function pad32(content: Buffer): Buffer {
  const pad = 32 - (content.length % 32);
  return Buffer.concat([content, Buffer.alloc(pad, pad)]);
}

function codeOf(fn: () => unknown): { code: string; wecom: number; status: number; error: unknown } {
  try {
    fn();
  } catch (error) {
    const e = error as { code: string; wecomCallbackCode: number; httpStatus: number };
    return { code: e.code, wecom: e.wecomCallbackCode, status: e.httpStatus, error };
  }
  throw new Error('expected an error');
}

describe('parseEncodingAesKey', () => {
  it('turns the 43-character key into 32 bytes', () => {
    expect(keyA).toHaveLength(32);
    // The first 42 characters carry whole bytes; only the 43rd has spare bits.
    expect(keyA.toString('base64').slice(0, 42)).toBe(A.encodingAesKey.slice(0, 42));
    expect(keyC).toHaveLength(32);
  });

  it.each([
    ['too short', A.encodingAesKey.slice(0, 42)],
    ['too long', `${A.encodingAesKey}x`],
    ['padding included', `${A.encodingAesKey}=`],
    ['non-alphanumeric', `${A.encodingAesKey.slice(0, 42)}+`],
    ['empty', ''],
  ])('refuses a key that is %s, without echoing it', (_label, key) => {
    const r = codeOf(() => parseEncodingAesKey(key));
    expect(r.error).toBeInstanceOf(ValidationError);
    expect(r.code).toBe('CALLBACK_BAD_AES_KEY');
    expect(r.wecom).toBe(-40004);
    expect(r.status).toBe(400);
    expect((r.error as Error).message).not.toContain(A.encodingAesKey.slice(0, 20));
  });
});

describe('signatures (official vectors)', () => {
  it('set A: the GET signature over echostr matches', () => {
    expect(callbackSignature(A.token, A.get.timestamp, A.get.nonce, A.get.echostr)).toBe(A.get.signature);
    expect(verifyCallbackSignature(A.token, A.get.timestamp, A.get.nonce, A.get.echostr, A.get.signature)).toBe(true);
  });

  it('set A: the POST signature over the Encrypt value matches', () => {
    expect(callbackSignature(A.token, A.post.timestamp, A.post.nonce, A.post.encrypt)).toBe(A.post.signature);
    expect(verifyCallbackSignature(A.token, A.post.timestamp, A.post.nonce, A.post.encrypt, A.post.signature)).toBe(true);
  });

  it('set C: the signature matches', () => {
    expect(callbackSignature(C.token, C.timestamp, C.nonce, C.echostr)).toBe(C.signature);
    expect(verifyCallbackSignature(C.token, C.timestamp, C.nonce, C.echostr, C.signature)).toBe(true);
  });

  it('rejects a tampered signature, a wrong-length one and tampered inputs without throwing', () => {
    const flipped = (A.post.signature[0] === 'a' ? 'b' : 'a') + A.post.signature.slice(1);
    const args = [A.token, A.post.timestamp, A.post.nonce, A.post.encrypt] as const;
    expect(verifyCallbackSignature(...args, flipped)).toBe(false);
    expect(verifyCallbackSignature(...args, A.post.signature.toUpperCase())).toBe(false);
    expect(verifyCallbackSignature(...args, A.post.signature.slice(0, 39))).toBe(false);
    expect(verifyCallbackSignature(...args, `${A.post.signature}0`)).toBe(false);
    expect(verifyCallbackSignature(...args, '')).toBe(false);
    expect(verifyCallbackSignature(A.token, '1409659814', A.post.nonce, A.post.encrypt, A.post.signature)).toBe(false);
    expect(verifyCallbackSignature('QDG6eL', A.post.timestamp, A.post.nonce, A.post.encrypt, A.post.signature)).toBe(false);
    expect(verifyCallbackSignature(A.token, A.post.timestamp, A.post.nonce, `x${A.post.encrypt.slice(1)}`, A.post.signature)).toBe(false);
  });
});

describe('decryptCallbackMessage (official vectors)', () => {
  it('set A GET: echostr decrypts to the documented msg, random and receiveid', () => {
    const r = decryptCallbackMessage(keyA, A.get.echostr, A.receiveId);
    expect(r.message).toBe(A.get.msg);
    expect(r.random.toString('latin1')).toBe(A.get.random);
    expect(r.receiveId).toBe(A.receiveId);
  });

  it('set A POST: Encrypt decrypts to the documented XML, random, length and receiveid', () => {
    const r = decryptCallbackMessage(keyA, A.post.encrypt, A.receiveId);
    expect(r.message).toBe(A.post.msg);
    expect(Buffer.byteLength(r.message, 'utf8')).toBe(A.post.msgLength);
    expect(r.random.toString('latin1')).toBe(A.post.random);
    expect(r.receiveId).toBe(A.receiveId);
  });

  it('set C: echostr decrypts to the documented msg and receiveid', () => {
    const r = decryptCallbackMessage(keyC, C.echostr, C.receiveId);
    expect(r.message).toBe(C.msg);
    expect(r.receiveId).toBe(C.receiveId);
    expect(r.random).toHaveLength(16);
  });

  it('re-encrypting with the documented random reproduces the official ciphertexts byte for byte', () => {
    expect(encryptCallbackMessage(keyA, A.get.msg, A.receiveId, Buffer.from(A.get.random))).toBe(A.get.echostr);
    expect(encryptCallbackMessage(keyA, A.post.msg, A.receiveId, Buffer.from(A.post.random))).toBe(A.post.encrypt);
    const c = decryptCallbackMessage(keyC, C.echostr, null);
    expect(encryptCallbackMessage(keyC, C.msg, C.receiveId, c.random)).toBe(C.echostr);
  });

  it('"+" and "/" in echostr survive URL decoding and decrypt', () => {
    expect(A.get.echostr).toMatch(/\+/);
    expect(A.get.echostr).toMatch(/\//);
    const query = new URLSearchParams(`msg_signature=${A.get.signature}&timestamp=${A.get.timestamp}&nonce=${A.get.nonce}&echostr=${A.get.echostrUrlEncoded}`);
    const echostr = query.get('echostr') ?? '';
    expect(echostr).toBe(A.get.echostr);
    expect(verifyCallbackSignature(A.token, A.get.timestamp, A.get.nonce, echostr, query.get('msg_signature') ?? '')).toBe(true);
    expect(decryptCallbackMessage(keyA, echostr, A.receiveId).message).toBe(A.get.msg);
  });

  it('an echostr whose "+" became a space (form-decoded raw) is refused as bad base64, not garbled', () => {
    const mangled = new URLSearchParams(`echostr=${A.get.echostr}`).get('echostr') ?? '';
    expect(mangled).toContain(' ');
    const r = codeOf(() => decryptCallbackMessage(keyA, mangled, A.receiveId));
    expect(r.code).toBe('CALLBACK_BAD_BASE64');
    expect(r.wecom).toBe(-40010);
    expect(r.status).toBe(400);
  });
});

describe('round trips', () => {
  const receiveId = 'ww0123456789abcdef';

  it('messages of 0..100 bytes cross the 32-byte pad boundaries (pad values 1..32)', () => {
    const pads = new Set<number>();
    for (let n = 0; n <= 100; n++) {
      const message = 'x'.repeat(n);
      const enc = encryptCallbackMessage(keyA, message, receiveId);
      const contentLength = 16 + 4 + n + receiveId.length;
      const cipherLength = Buffer.from(enc, 'base64').length;
      expect(cipherLength % 32).toBe(0);
      // A full extra block of 32 pad bytes when the content is already a multiple of 32.
      expect(cipherLength).toBe((Math.floor(contentLength / 32) + 1) * 32);
      pads.add(cipherLength - contentLength);
      const r = decryptCallbackMessage(keyA, enc, receiveId);
      expect(r.message).toBe(message);
      expect(r.receiveId).toBe(receiveId);
    }
    expect([...pads].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });

  it('random messages with Chinese, emoji and XML survive, with the random prefix returned', () => {
    const alphabet = ['企', '业', '微', '信', '会', '话', '存', '档', 'a', 'Z', '9', '<', '&', ']]>', '\n', '😀', ' '];
    for (let i = 0; i < 200; i++) {
      const len = Math.floor(Math.random() * 60);
      let message = '';
      for (let j = 0; j < len; j++) message += alphabet[Math.floor(Math.random() * alphabet.length)];
      const random = randomBytes(16);
      const enc = encryptCallbackMessage(keyC, message, C.receiveId, random);
      const r = decryptCallbackMessage(keyC, enc, C.receiveId);
      expect(r.message).toBe(message);
      expect(r.random.equals(random)).toBe(true);
    }
  });

  it('an empty receiveid (in-corp smart robot) round-trips and is compared', () => {
    const enc = encryptCallbackMessage(keyA, 'hello', '');
    expect(decryptCallbackMessage(keyA, enc, '').receiveId).toBe('');
    expect(codeOf(() => decryptCallbackMessage(keyA, enc, A.receiveId)).code).toBe('CALLBACK_RECEIVEID_MISMATCH');
  });

  it('two encryptions of one message differ (fresh random prefix)', () => {
    expect(encryptCallbackMessage(keyA, 'same', receiveId)).not.toBe(encryptCallbackMessage(keyA, 'same', receiveId));
  });

  it('refuses a random prefix that is not 16 bytes', () => {
    expect(() => encryptCallbackMessage(keyA, 'm', receiveId, Buffer.alloc(15))).toThrow(ValidationError);
  });
});

describe('tampering is rejected with the sample library code', () => {
  it('receiveid mismatch → CALLBACK_RECEIVEID_MISMATCH (-40005), without echoing either id', () => {
    const r = codeOf(() => decryptCallbackMessage(keyA, A.post.encrypt, 'wwsomeoneelse'));
    expect(r.error).toBeInstanceOf(CryptoError);
    expect(r.code).toBe('CALLBACK_RECEIVEID_MISMATCH');
    expect(r.wecom).toBe(-40005);
    expect(r.status).toBe(400);
    expect((r.error as Error).message).not.toContain(A.receiveId);
    expect((r.error as Error).message).not.toContain('wwsomeoneelse');
    // null skips the check, as the Go sample does for an empty configured receiveid.
    expect(decryptCallbackMessage(keyA, A.post.encrypt, null).receiveId).toBe(A.receiveId);
  });

  it('a flipped ciphertext byte that breaks the pad → CALLBACK_AES_DECRYPT (-40007)', () => {
    const bytes = Buffer.from(A.post.encrypt, 'base64');
    // In CBC, flipping byte 15 of the second-to-last block flips the last plaintext byte: the pad value.
    bytes[bytes.length - 32 - 1]! ^= 0x40;
    const r = codeOf(() => decryptCallbackMessage(keyA, bytes.toString('base64'), A.receiveId));
    expect(r.error).toBeInstanceOf(CryptoError);
    expect(r.code).toBe('CALLBACK_AES_DECRYPT');
    expect(r.wecom).toBe(-40007);
    expect(r.status).toBe(400);
  });

  it('the wrong key → CALLBACK_AES_DECRYPT', () => {
    expect(codeOf(() => decryptCallbackMessage(keyC, A.post.encrypt, A.receiveId)).code).toBe('CALLBACK_AES_DECRYPT');
  });

  it('a ciphertext that is not a multiple of 32 bytes → CALLBACK_AES_DECRYPT', () => {
    const short = Buffer.from(A.post.encrypt, 'base64').subarray(0, 48).toString('base64');
    expect(codeOf(() => decryptCallbackMessage(keyA, short, A.receiveId)).code).toBe('CALLBACK_AES_DECRYPT');
  });

  it.each([
    ['pad value 0', (c: Buffer) => Buffer.concat([c.subarray(0, c.length - (c.length % 32)), Buffer.alloc(32, 0)])],
    ['pad value 33', (c: Buffer) => Buffer.concat([c.subarray(0, c.length - (c.length % 32)), Buffer.alloc(32, 33)])],
    [
      'a wrong byte inside the pad',
      (c: Buffer) => {
        const p = pad32(c);
        p[p.length - 2]! ^= 1;
        return p;
      },
    ],
    ['pad value 255', (c: Buffer) => Buffer.concat([c.subarray(0, c.length - (c.length % 32)), Buffer.alloc(32, 255)])],
  ])('%s → CALLBACK_AES_DECRYPT', (_label, makePlain) => {
    const content = layout(randomBytes(16), 5, Buffer.from('hello'), A.receiveId);
    const r = codeOf(() => decryptCallbackMessage(keyA, rawEncrypt(keyA, makePlain(content)), A.receiveId));
    expect(r.code).toBe('CALLBACK_AES_DECRYPT');
    expect(r.wecom).toBe(-40007);
  });

  it.each([
    ['declares one byte more than it carries', 'hello'.length + A.receiveId.length + 1],
    ['declares 4 GiB', 0xffffffff],
  ])('a length field that %s → CALLBACK_BAD_BUFFER (-40008)', (_label, declared) => {
    const enc = rawEncrypt(keyA, pad32(layout(randomBytes(16), declared, Buffer.from('hello'), A.receiveId)));
    const r = codeOf(() => decryptCallbackMessage(keyA, enc, A.receiveId));
    expect(r.error).toBeInstanceOf(CryptoError);
    expect(r.code).toBe('CALLBACK_BAD_BUFFER');
    expect(r.wecom).toBe(-40008);
    expect(r.status).toBe(400);
  });

  it('a length field that points inside the receiveid shifts bytes into it → mismatch, not silent acceptance', () => {
    const enc = rawEncrypt(keyA, pad32(layout(randomBytes(16), 7, Buffer.from('hello'), A.receiveId)));
    expect(codeOf(() => decryptCallbackMessage(keyA, enc, A.receiveId)).code).toBe('CALLBACK_RECEIVEID_MISMATCH');
  });

  it('content shorter than random + length → CALLBACK_BAD_BUFFER', () => {
    const enc = rawEncrypt(keyA, pad32(randomBytes(10)));
    expect(codeOf(() => decryptCallbackMessage(keyA, enc, null)).code).toBe('CALLBACK_BAD_BUFFER');
  });

  it('a message that is not UTF-8 → CALLBACK_BAD_BUFFER', () => {
    const enc = rawEncrypt(keyA, pad32(layout(randomBytes(16), 2, Buffer.from([0xc3, 0x28]), A.receiveId)));
    expect(codeOf(() => decryptCallbackMessage(keyA, enc, A.receiveId)).code).toBe('CALLBACK_BAD_BUFFER');
  });

  it.each([
    ['empty', ''],
    ['a space', A.post.encrypt.replace('+', ' ')],
    ['url-safe alphabet', A.post.encrypt.replace(/\+/g, '-').replace(/\//g, '_')],
    ['missing padding', A.post.encrypt.replace(/=+$/, '')],
    ['a stray character', `${A.post.encrypt}!`],
    ['non-canonical trailing bits', `${A.get.echostr.slice(0, -3)}R==`],
  ])('ciphertext with %s → CALLBACK_BAD_BASE64 (-40010)', (_label, bad) => {
    const r = codeOf(() => decryptCallbackMessage(keyA, bad, A.receiveId));
    expect(r.error).toBeInstanceOf(ValidationError);
    expect(r.code).toBe('CALLBACK_BAD_BASE64');
    expect(r.wecom).toBe(-40010);
    expect(r.status).toBe(400);
  });

  it('a key that is not 32 bytes is refused before decrypting', () => {
    expect(codeOf(() => decryptCallbackMessage(Buffer.alloc(16), A.post.encrypt, null)).code).toBe('CALLBACK_BAD_AES_KEY');
  });
});

describe('buildEncryptedReply', () => {
  it('builds the encrypted passive reply whose signature verifies and whose Encrypt decrypts to the message', () => {
    const message = '<xml><Content><![CDATA[收到]]></Content></xml>';
    const xml = buildEncryptedReply({
      token: A.token,
      aesKey: keyA,
      receiveId: A.receiveId,
      message,
      timestamp: '1409659813',
      nonce: '1372623149',
    });
    const m = xml.match(
      /^<xml><Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]><\/Encrypt><MsgSignature><!\[CDATA\[([0-9a-f]{40})\]\]><\/MsgSignature><TimeStamp>1409659813<\/TimeStamp><Nonce><!\[CDATA\[1372623149\]\]><\/Nonce><\/xml>$/,
    );
    expect(m).not.toBeNull();
    const [, encrypted = '', signature = ''] = m ?? [];
    expect(verifyCallbackSignature(A.token, '1409659813', '1372623149', encrypted, signature)).toBe(true);
    expect(decryptCallbackMessage(keyA, encrypted, A.receiveId).message).toBe(message);
  });

  it('refuses a timestamp or nonce that could inject markup', () => {
    const base = { token: A.token, aesKey: keyA, receiveId: A.receiveId, message: 'm', timestamp: '1', nonce: 'n' };
    expect(() => buildEncryptedReply({ ...base, timestamp: '1</TimeStamp>' })).toThrow(ValidationError);
    expect(() => buildEncryptedReply({ ...base, nonce: ']]><x>' })).toThrow(ValidationError);
  });
});
