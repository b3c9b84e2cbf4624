import type { App } from '../app/app.ts';
import { ArchiveError } from '../errors/errors.ts';
import type { ImportedCorp } from './corp-import-file.ts';

/**
 * Imports checked corps (see readSimulatorConfig) with their keys, directory secrets and callback
 * apps in one database transaction: a refusal by the database (a corp already there without
 * `replace`, a key version taken by another key) leaves nothing of the file behind, so the fixed
 * file imports as it is.
 */
export async function importCorps(app: Pick<App, 'transaction'>, corps: readonly ImportedCorp[], options: { replace?: boolean } = {}): Promise<void> {
  const replace = options.replace === true;
  await app.transaction(async (s) => {
    for (const [i, c] of corps.entries()) {
      const corpid = c.corp.corpid;
      try {
        await s.corps.add(c.corp, { replace });
        for (const key of c.keys) await s.keys.add(corpid, key.version, key.privateKeyPem);
        if (Object.keys(c.apiSecrets).length > 0) await s.apiSettings.set(corpid, c.apiSecrets);
        for (const callback of c.callbacks) await s.callbackApps.add({ corpid, ...callback }, { replace });
      } catch (err) {
        if (!(err instanceof ArchiveError)) throw err;
        throw new ArchiveError(err.code, `corps[${i}] (${corpid}): ${err.message}; nothing of the file was imported`, { cause: err, exitCode: err.exitCode, httpStatus: err.httpStatus });
      }
    }
  });
}
