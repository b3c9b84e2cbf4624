import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import { corpImport } from '../../src/cli/commands/corp.ts';
import { exitCodeOf } from '../../src/cli/exit-codes.ts';
import { loadConfig } from '../../src/config/config.ts';
import { ArchiveError } from '../../src/errors/errors.ts';
import { generateRsaKeyPair, privateKeyToPkcs8Pem } from '../../src/vault/rsa-key.ts';
import { appOn } from '../support/archive-harness.ts';
import { corpRowCounts, NO_CORP_ROWS } from '../support/corp-rows.ts';
import { describeEachDialect } from '../support/databases.ts';
import { rsaPemPair } from '../support/rsa-pem.ts';

const dir = mkdtempSync(join(tmpdir(), 'wa-import-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newPem = () => privateKeyToPkcs8Pem(generateRsaKeyPair().privateKey);
const AES = 'a'.repeat(43);

/** A simulator config of two corps, each with keys, directory secrets and callback apps. */
function config(pems: string[]) {
  const corp = (corpid: string, keys: Array<{ version: number; privateKeyPem: string }>) => ({
    corpid,
    secret: `secret-of-${corpid}`,
    sdk: 'simulator:http://127.0.0.1:9100',
    keys,
    contactsSecret: 'contacts-secret',
    customerSecret: 'customer-secret',
    callbacks: [
      { app: 'contacts', token: 'tok1', aesKey: AES },
      { app: 'archive', token: 'tok2', aesKey: AES },
    ],
  });
  return {
    format: 'wecom-archive-simulator/1',
    corps: [
      corp('wwfirst', [
        { version: 1, privateKeyPem: pems[0]! },
        { version: 2, privateKeyPem: pems[1]! },
      ]),
      corp('wwsecond', [{ version: 1, privateKeyPem: pems[2]! }]),
    ],
  };
}

/** `wecom-archive corp import FILE [--replace]` through the command itself; the error it exits with, if any. */
async function cliImport(app: App, doc: object, replace = false): Promise<{ out: string[]; error?: ArchiveError }> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(doc));
  const out: string[] = [];
  const io = { out: (l: string) => out.push(l), err: (l: string) => out.push(l), stdout: process.stdout, cwd: dir, env: {}, signal: new AbortController().signal };
  try {
    await corpImport.run({ app, config: loadConfig({}, {}, dir), values: replace ? { replace: true } : {}, positionals: [file], io });
    return { out };
  } catch (err) {
    if (!(err instanceof ArchiveError)) throw err;
    return { out, error: err };
  }
}

const EVERYTHING = { corps: 2, cursors: 2, key_versions: 3, corp_api_settings: 2, callback_apps: 4 };

describeEachDialect('corp import', ({ open }) => {
  const pems = [newPem(), newPem(), newPem()];
  const weak = rsaPemPair(1024).privateKey;
  const cases: Array<[string, (doc: ReturnType<typeof config>) => void, RegExp]> = [
    [
      'a bad key',
      (doc) => {
        doc.corps[1]!.keys[0]!.privateKeyPem = 'MIIBroken';
      },
      /corps\[1\]\.keys\[0\]\.privateKeyPem: This is not a readable RSA private key/,
    ],
    [
      'a second corp with a 1024-bit key',
      (doc) => {
        doc.corps[1]!.keys[0]!.privateKeyPem = weak;
      },
      /corps\[1\]\.keys\[0\]\.privateKeyPem: This RSA key is 1024 bits/,
    ],
    [
      'a duplicate key version',
      (doc) => {
        doc.corps[1]!.keys.push({ version: 1, privateKeyPem: pems[0]! });
      },
      /corps\[1\]\.keys\[1\]\.version: version 1 appears twice/,
    ],
    [
      'a duplicate callback app',
      (doc) => {
        doc.corps[1]!.callbacks.push({ app: 'contacts', token: 'tok3', aesKey: AES });
      },
      /corps\[1\]\.callbacks\[2\]\.app: callback app contacts appears twice/,
    ],
  ];

  for (const [name, spoil, error] of cases) {
    it(`refuses a file with ${name} whole, naming the field; the fixed file then imports without --replace`, async () => {
      const app = appOn(await open());
      const doc = config(pems);
      spoil(doc);
      const refused = await cliImport(app, doc);
      expect(await corpRowCounts(app)).toEqual(NO_CORP_ROWS);
      expect(refused.error?.message).toMatch(error);
      expect(refused.error?.message).toMatch(/nothing of the file was imported/);
      expect(refused.error && exitCodeOf(refused.error)).toBe(2);

      const fixed = await cliImport(app, config(pems));
      expect(fixed.error).toBeUndefined();
      expect(fixed.out).toEqual([
        'corp wwfirst imported with key versions 1,2, the contacts secret, the customer contact secret, callback apps contacts,archive',
        'corp wwsecond imported with key versions 1, the contacts secret, the customer contact secret, callback apps contacts,archive',
      ]);
      expect(await corpRowCounts(app)).toEqual(EVERYTHING);
      expect((await app.corps.get('wwsecond')).secret).toBe('secret-of-wwsecond');
    });
  }

  it('imports nothing when the database refuses a later corp (one transaction)', async () => {
    const app = appOn(await open());
    // the second corp is already there and --replace is not given: found only inside the transaction
    await app.corps.add({ corpid: 'wwsecond', secret: 'other', sdk: { kind: 'simulator', url: 'http://127.0.0.1:9100' }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 10 });
    const refused = await cliImport(app, config(pems));
    expect(await corpRowCounts(app)).toEqual({ ...NO_CORP_ROWS, corps: 1, cursors: 1 });
    expect(refused.error?.message).toMatch(/^corps\[1\] \(wwsecond\): corp wwsecond is already configured; .*nothing of the file was imported/);
    expect((await app.corps.get('wwsecond')).secret).toBe('other');
    // a key version already taken by another key is refused the same way
    await app.keys.add('wwsecond', 1, pems[0]!);
    const taken = await cliImport(app, config(pems), true);
    expect(taken.error?.message).toMatch(/corps\[1\] \(wwsecond\): corp wwsecond already has a different key for version 1/);
    expect(await corpRowCounts(app)).toEqual({ ...NO_CORP_ROWS, corps: 1, cursors: 1, key_versions: 1 });
    expect((await app.corps.get('wwsecond')).secret).toBe('other');
  });
});
