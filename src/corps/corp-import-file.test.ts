import { describe, expect, it } from 'vitest';
import { generateRsaKeyPair, privateKeyToPkcs8Pem } from '../vault/rsa-key.ts';
import { rsaPemPair } from '../../test/support/rsa-pem.ts';
import { readSimulatorConfig } from './corp-import-file.ts';

const pem = privateKeyToPkcs8Pem(generateRsaKeyPair().privateKey);
const corp = { corpid: 'ww0123456789abcdef', secret: 's3cret', sdk: 'simulator:http://127.0.0.1:9100', keys: [{ version: 1, privateKeyPem: pem }] };
const file = (corps: object[]) => JSON.stringify({ format: 'wecom-archive-simulator/1', corps });
const read = (fields: Record<string, unknown>) => readSimulatorConfig(file([{ ...corp, ...fields }]), '/');

describe('readSimulatorConfig', () => {
  it('reads a file without the API fields as before: no secrets, no callback apps', () => {
    const [c] = read({});
    expect(c).toMatchObject({ corp: { corpid: corp.corpid, sdk: { kind: 'simulator', url: 'http://127.0.0.1:9100' } }, keys: corp.keys, apiSecrets: {}, callbacks: [] });
  });

  it('reads the directory secrets and the callback apps', () => {
    const callbacks = [
      { app: 'contacts', token: 'tok', aesKey: 'a'.repeat(43) },
      { app: 'archive', token: 'tok2', aesKey: 'b'.repeat(43) },
    ];
    const [c] = read({ contactsSecret: 'cs', customerSecret: 'ks', callbacks });
    expect(c?.apiSecrets).toEqual({ contactsSecret: 'cs', customerSecret: 'ks' });
    expect(c?.callbacks).toEqual(callbacks);
  });

  it('refuses bad API fields, naming the field', () => {
    expect(() => read({ contactsSecret: '' })).toThrow(/corps\[0\]\.contactsSecret must be a non-empty string/);
    expect(() => read({ customerSecret: 7 })).toThrow(/corps\[0\]\.customerSecret must be a non-empty string/);
    expect(() => read({ customerSecret: 'two words' })).toThrow(/corps\[0\]\.customerSecret: the secret must be .* \(no spaces\)/);
    expect(() => read({ callbacks: {} })).toThrow(/corps\[0\]\.callbacks must be an array/);
    expect(() => read({ callbacks: [{ app: 'contacts', token: 'tok' }] })).toThrow(/callbacks\[0\] must have "app", "token" and "aesKey" strings/);
    expect(() => read({ callbacks: [{ app: '../x', token: 'tok', aesKey: 'a'.repeat(43) }] })).toThrow(
      /callbacks\[0\]\.app: --app must be 1–64 letters, digits, "_" or "-" .*got "\.\.\/x"/,
    );
    expect(() => read({ callbacks: [{ app: 'contacts', token: 'a b', aesKey: 'a'.repeat(43) }] })).toThrow(/callbacks\[0\]\.token: --token must be .*1–32 letters and digits/);
    expect(() => read({ callbacks: [{ app: 'contacts', token: 'tok', aesKey: 'short-key' }] })).toThrow(/callbacks\[0\]\.aesKey: the callback EncodingAESKey must be exactly 43/);
  });

  it('refuses a file that is not JSON without quoting any of it', () => {
    expect(() => readSimulatorConfig('{"corps":[{"secret":topsecretvalue}]}', '/')).toThrow(/^the file is not JSON; it should be written by/);
    expect(() => readSimulatorConfig('{"secret":"topsecretvalue" x}', '/')).toThrow(/^the file is not JSON \(error at character 28\)/);
    try {
      readSimulatorConfig('{"corps":[{"secret":topsecretvalue}]}', '/');
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
  });

  it('checks the whole file first and names every bad field by its path', () => {
    const small = rsaPemPair(1024).privateKey;
    const text = file([
      { ...corp, keys: [{ version: 1, privateKeyPem: 'not a key' }] },
      {
        ...corp,
        corpid: 'ww2',
        secret: 'line\nQx7secret',
        keys: [
          { version: 1, privateKeyPem: small },
          { version: 1, privateKeyPem: pem },
        ],
      },
      {
        ...corp,
        corpid: 'ww3',
        sdk: 'native:/nonexistent.so',
        callbacks: [
          { app: 'contacts', token: 'tok', aesKey: 'a'.repeat(43) },
          { app: 'contacts', token: 'tok', aesKey: 'a'.repeat(43) },
        ],
      },
      { ...corp, corpid: 'ww2' },
    ]);
    let message = '';
    try {
      readSimulatorConfig(text, '/');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message.split('\n')[0]).toBe('simulator config: 7 problems, nothing of the file was imported:');
    for (const line of [
      /corps\[0\]\.keys\[0\]\.privateKeyPem: This is not a readable RSA private key/,
      /corps\[1\]\.secret: the secret holds a line break at character 5/,
      /corps\[1\]\.keys\[0\]\.privateKeyPem: This RSA key is 1024 bits/,
      /corps\[1\]\.keys\[1\]\.version: version 1 appears twice \(also corps\[1\]\.keys\[0\]\)/,
      /corps\[2\]\.sdk: --sdk native:\/nonexistent\.so: no such file/,
      /corps\[2\]\.callbacks\[1\]\.app: callback app contacts appears twice \(also corps\[2\]\.callbacks\[0\]\)/,
      /corps\[3\]\.corpid: corp ww2 appears twice in the file \(also corps\[1\]\)/,
    ])
      expect(message).toMatch(line);
    expect(message).not.toContain('Qx7secret');
    expect(message).not.toContain(pem.split('\n')[1]);
  });
});
