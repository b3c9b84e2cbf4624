import { expect, it } from 'vitest';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import { ArchiveError } from '../../src/errors/errors.ts';
import type { SimulatorConfigSource } from '../../src/simulator/control/corp-import-file-writer.ts';
import { generateRsaKeyPair, privateKeyToPkcs8Pem } from '../../src/vault/rsa-key.ts';
import { appOn } from '../support/archive-harness.ts';
import { corpRowCounts, NO_CORP_ROWS } from '../support/corp-rows.ts';
import { describeEachDialect } from '../support/databases.ts';

const AES = 'b'.repeat(43);

/** A simulator's corp as it would describe itself: two keys, directory secrets, two callback apps. */
function simulatorSource(corpid: string, pems: readonly string[], callbackApp = 'contacts'): SimulatorConfigSource {
  return {
    url: 'http://127.0.0.1:9100',
    corp: { corpid, secret: `secret-of-${corpid}` },
    privateKeyPems: new Map(pems.map((pem, i) => [i + 1, pem])),
    api: {
      secrets: { contacts: 'contacts-secret', customer: 'customer-secret' },
      callbackApps: { archive: { app: 'archive', token: 'tok1', encodingAesKey: AES }, contacts: { app: callbackApp, token: 'tok2', encodingAesKey: AES } },
    },
  };
}

describeEachDialect('corp registration', ({ open }) => {
  const pems = [privateKeyToPkcs8Pem(generateRsaKeyPair().privateKey), privateKeyToPkcs8Pem(generateRsaKeyPair().privateKey)];

  it('registers the corp row, its keys, its directory secrets and its callback apps together', async () => {
    const app = appOn(await open());
    await registerCorps(app, [simulatorCorp(simulatorSource('wwwhole', pems))]);
    expect(await corpRowCounts(app)).toEqual({ corps: 1, cursors: 1, key_versions: 2, corp_api_settings: 1, callback_apps: 2 });
    expect((await app.corps.get('wwwhole')).sdk).toEqual({ kind: 'simulator', url: 'http://127.0.0.1:9100' });
    expect([...(await app.keys.privateKeys('wwwhole')).keys()].sort()).toEqual([1, 2]);
    expect((await app.callbackApps.list()).map((c) => c.app).sort()).toEqual(['archive', 'contacts']);
  });

  it('leaves nothing behind when a callback app is refused after the corp, its keys and secrets were written', async () => {
    const app = appOn(await open());
    // the invalid app comes last: the corp row, keys, secrets and first app are written before it fails
    const spoiled = simulatorCorp(simulatorSource('wwhalf', pems, 'no spaces allowed'));
    const error = await registerCorps(app, [spoiled]).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ArchiveError);
    expect((error as ArchiveError).message).toMatch(/^corps\[0\] \(wwhalf\): .*; nothing was registered$/);
    expect(await corpRowCounts(app)).toEqual(NO_CORP_ROWS);
  });

  it('leaves no earlier corp behind when a later one is refused', async () => {
    const app = appOn(await open());
    const corps = [simulatorCorp(simulatorSource('wwearlier', pems)), simulatorCorp(simulatorSource('wwlater', pems, 'bad/app'))];
    await expect(registerCorps(app, corps)).rejects.toThrow(/^corps\[1\] \(wwlater\): /);
    expect(await corpRowCounts(app)).toEqual(NO_CORP_ROWS);
    // the same corps, fixed, register as they are
    await registerCorps(app, [corps[0]!, simulatorCorp(simulatorSource('wwlater', pems))]);
    expect(await corpRowCounts(app)).toEqual({ corps: 2, cursors: 2, key_versions: 4, corp_api_settings: 2, callback_apps: 4 });
  });

  it('registers only the parts asked for', async () => {
    const app = appOn(await open());
    await registerCorps(app, [simulatorCorp(simulatorSource('wwkeys', pems), { keyVersions: [2], apiSecrets: false, callbackApps: false, limit: 10 })]);
    expect(await corpRowCounts(app)).toEqual({ corps: 1, cursors: 1, key_versions: 1, corp_api_settings: 0, callback_apps: 0 });
    expect((await app.corps.get('wwkeys')).limit).toBe(10);
    expect([...(await app.keys.privateKeys('wwkeys')).keys()]).toEqual([2]);
  });
});
