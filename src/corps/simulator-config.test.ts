import { describe, expect, it } from 'vitest';
import { readSimulatorConfig } from './simulator-config.ts';

const corp = { corpid: 'ww0123456789abcdef', secret: 's3cret', sdk: 'simulator:http://127.0.0.1:9100', keys: [{ version: 1, privateKeyPem: 'PEM' }] };
const read = (fields: Record<string, unknown>) => readSimulatorConfig(JSON.stringify({ format: 'wecom-archive-simulator/1', corps: [{ ...corp, ...fields }] }), '/');

describe('readSimulatorConfig', () => {
  it('reads a file without the API fields as before: no secrets, no callback apps', () => {
    const [c] = read({});
    expect(c).toMatchObject({ corp: { corpid: corp.corpid, sdk: { kind: 'simulator', url: 'http://127.0.0.1:9100' } }, keys: corp.keys, apiSecrets: {}, callbacks: [] });
  });

  it('reads the directory secrets and the callback apps', () => {
    const callbacks = [{ app: 'contacts', token: 'tok', aesKey: 'a'.repeat(43) }, { app: 'archive', token: 'tok2', aesKey: 'b'.repeat(43) }];
    const [c] = read({ contactsSecret: 'cs', customerSecret: 'ks', callbacks });
    expect(c?.apiSecrets).toEqual({ contactsSecret: 'cs', customerSecret: 'ks' });
    expect(c?.callbacks).toEqual(callbacks);
  });

  it('refuses bad API fields, naming the field', () => {
    expect(() => read({ contactsSecret: '' })).toThrow(/corps\[0\]\.contactsSecret must be a non-empty string/);
    expect(() => read({ customerSecret: 7 })).toThrow(/corps\[0\]\.customerSecret must be a non-empty string/);
    expect(() => read({ callbacks: {} })).toThrow(/corps\[0\]\.callbacks must be an array/);
    expect(() => read({ callbacks: [{ app: 'contacts', token: 'tok' }] })).toThrow(/callbacks\[0\] must have "app", "token" and "aesKey" strings/);
    expect(() => read({ callbacks: [{ app: '../x', token: 'tok', aesKey: 'k' }] })).toThrow(/callbacks\[0\]: --app must be 1–64 letters, digits, "_" or "-" .*got "\.\.\/x"/);
    expect(() => read({ callbacks: [{ app: 'contacts', token: 'a b', aesKey: 'a'.repeat(43) }] })).toThrow(/callbacks\[0\]: --token must be .*1–32 letters and digits/);
    expect(() => read({ callbacks: [{ app: 'contacts', token: 'tok', aesKey: 'short-key' }] })).toThrow(/callbacks\[0\]: the callback EncodingAESKey must be exactly 43/);
  });
});
