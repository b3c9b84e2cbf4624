import type { App } from '../app/app.ts';
import { ArchiveError } from '../errors/errors.ts';
import type { ImportedCorp, SimulatorConfigSource } from './corp-import-file.ts';

export interface RegistrationOptions {
  /** replace a corp or callback app that is already configured (otherwise the database refuses it) */
  replace?: boolean;
  /** the end of a refusal's message, saying what was left undone */
  refusal?: string;
}

/**
 * Registers corps (each: the corp row, its private keys, its directory secrets, its callback apps)
 * in one database transaction: all of it, or nothing. A refusal by the database (a corp already there
 * without `replace`, a key version taken by another key, a callback app it rejects) leaves nothing
 * of any corp behind, so the caller can fix the input and register it again as it is.
 * `corp import`, `demo` and the test harnesses all register corps through here.
 */
export async function registerCorps(app: Pick<App, 'transaction'>, corps: readonly ImportedCorp[], options: RegistrationOptions = {}): Promise<void> {
  const replace = options.replace === true;
  const refusal = options.refusal ?? 'nothing was registered';
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
        throw new ArchiveError(err.code, `corps[${i}] (${corpid}): ${err.message}; ${refusal}`, { cause: err, kind: err.kind, httpStatus: err.httpStatus });
      }
    }
  });
}

export interface SimulatorCorpParts {
  /** only the private keys of these versions (default: every key the simulator knows) */
  keyVersions?: readonly number[];
  /** GetChatData's limit (default 1000) */
  limit?: number;
  /** the SDK calls' timeout in seconds (default 10) */
  timeoutS?: number;
  /** the directory's contacts and customer contact secrets (default: yes, when the simulator has them) */
  apiSecrets?: boolean;
  /** the simulator's callback apps (default: yes, when it has them) */
  callbackApps?: boolean;
}

/** A running simulator's corp as `registerCorps` takes it, with the parts asked for. */
export function simulatorCorp(sim: SimulatorConfigSource, parts: SimulatorCorpParts = {}): ImportedCorp {
  const keys = [...sim.privateKeyPems.entries()]
    .filter(([version]) => !parts.keyVersions || parts.keyVersions.includes(version))
    .sort(([a], [b]) => a - b)
    .map(([version, privateKeyPem]) => ({ version, privateKeyPem }));
  const api = sim.api;
  return {
    corp: {
      corpid: sim.corp.corpid,
      secret: sim.corp.secret,
      sdk: { kind: 'simulator', url: sim.url },
      proxy: null,
      proxyAuth: null,
      limit: parts.limit ?? 1000,
      timeoutS: parts.timeoutS ?? 10,
    },
    keys,
    apiSecrets: api && parts.apiSecrets !== false ? { contactsSecret: api.secrets.contacts, customerSecret: api.secrets.customer } : {},
    callbacks: api && parts.callbackApps !== false ? Object.values(api.callbackApps).map((c) => ({ app: c.app, token: c.token, aesKey: c.encodingAesKey })) : [],
  };
}
