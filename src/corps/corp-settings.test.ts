import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseApiBase } from '../wecom-api/corp-api-settings.ts';
import { checkSdkLibrary, maskUrlCredentials, parseProxyAuth, parseSdkSpec, storedSdkSpec, validateCorpSettings, validateSecret } from './corp-settings.ts';

const dir = mkdtempSync(join(tmpdir(), 'corp-settings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const caught = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected an error');
};

describe('corp settings are checked where every way in passes', () => {
  it('refuses a secret with a line break, a tab or another control character, without echoing it', () => {
    for (const [secret, what] of [
      ['s3cret-value\n', 'a line break at character 13'],
      ['s3cret\r\nvalue', 'a line break at character 7'],
      ['s3\tcret', 'a tab at character 3'],
      ['s3cret\u0000', 'a control character at character 7'],
      ['s3\u2028cret', 'a control character'],
    ] as const) {
      const err = caught(() => validateSecret(secret, '--secret', 'the archive secret'));
      expect(err.message).toContain(`--secret holds ${what}`);
      expect(err.message).not.toContain('s3cret');
    }
    expect(validateSecret('ab-CD_12.x', '--secret', 'the archive secret')).toBe('ab-CD_12.x');
    expect(() => validateSecret(' \n', '--secret', 'the archive secret')).toThrow(/--secret is required/);
    expect(() => parseProxyAuth('alice:pa\nss')).toThrow(/--proxy-auth holds a line break/);
  });

  it('refuses the same through validateCorpSettings, naming the field it was given', () => {
    const corp = { corpid: 'ww1', secret: 'line-one\nline-two', sdk: { kind: 'simulator' as const, url: 'http://127.0.0.1:9100' }, proxyAuth: null };
    expect(() => validateCorpSettings(corp)).toThrow(/--secret holds a line break at character 9/);
    expect(() => validateCorpSettings(corp, { secret: 'corps[0].secret', sdk: 'corps[0].sdk', proxyAuth: 'corps[0].proxyAuth' })).toThrow(/^corps\[0\]\.secret holds a line break/);
  });

  it('refuses a native library that does not exist or is not a file', () => {
    const lib = join(dir, 'libWeWorkFinanceSdk_C.so');
    writeFileSync(lib, 'ELF');
    expect(() => checkSdkLibrary(parseSdkSpec('native:/nonexistent.so', '/'))).toThrow(/--sdk native:\/nonexistent\.so: no such file; give the path of libWeWorkFinanceSdk_C\.so/);
    expect(() => checkSdkLibrary(parseSdkSpec(`native:${dir}`, '/'))).toThrow(/is not a file/);
    expect(() => checkSdkLibrary(parseSdkSpec('native:libWeWorkFinanceSdk_C.so', dir))).not.toThrow();
    expect(() => validateCorpSettings({ corpid: 'ww1', secret: 's', sdk: { kind: 'native', path: '/nonexistent.so' }, proxyAuth: null })).toThrow(/no such file/);
  });

  it('refuses a simulator URL with a user or password, and never echoes the password', () => {
    const err = caught(() => parseSdkSpec('simulator:http://user:pw-77@127.0.0.1:9100', '/'));
    expect(err.message).toMatch(/must not carry a user or password/);
    expect(err.message).not.toContain('pw-77');
    expect(caught(() => parseSdkSpec('simulator:ftp://user:pw-77@host', '/')).message).not.toContain('pw-77');
    expect(caught(() => parseSdkSpec('other://user:pw-77@host', '/')).message).not.toContain('pw-77');
    // a value stored before this check loads and shows without its credentials
    expect(storedSdkSpec('simulator:http://user:pw-77@127.0.0.1:9100')).toEqual({ kind: 'simulator', url: 'http://127.0.0.1:9100' });
    expect(maskUrlCredentials('simulator:http://user:pw-77@127.0.0.1:9100')).toBe('simulator:http://***@127.0.0.1:9100');
  });

  it('masks the password and query of a refused --api-base', () => {
    const err = caught(() => parseApiBase('https://admin:hunter2-pw@gw.example.com/wecom'));
    expect(err.message).toMatch(/without query or credentials/);
    expect(err.message).toContain('https://***@gw.example.com/wecom');
    expect(err.message).not.toContain('hunter2');
    expect(caught(() => parseApiBase('https://gw.example.com/?access_token=tok-9')).message).not.toContain('tok-9');
  });
});
