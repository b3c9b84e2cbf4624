/**
 * The file that hands a simulator's corp to the archive (`wecom-archive corp import FILE`):
 * corpid, secret, the `simulator:URL` sdk setting and the private keys the simulator knows, and
 * when the simulator serves the WeCom API, the contacts and customer contact secrets and the Token
 * and EncodingAESKey of each callback app, as an admin would paste them from the console.
 * It holds secrets, so it is written with mode 0600 and replaced atomically (a reader never sees
 * half a file, and an old file with wider permissions is not reused).
 */
import { randomBytes } from 'node:crypto';
import { chmod, rename, rm, writeFile } from 'node:fs/promises';
import { type SimulatorConfigSource, SIMULATOR_CONFIG_FORMAT, type SimulatorCallbackApp } from '../../corps/corp-import-file.ts';

export type { SimulatorConfigSource };

export interface SimulatorConfigCorp {
  corpid: string;
  secret: string;
  sdk: string;
  keys: Array<{ version: number; privateKeyPem: string }>;
  contactsSecret?: string;
  customerSecret?: string;
  callbacks?: SimulatorCallbackApp[];
}

export interface SimulatorConfigDocument {
  format: typeof SIMULATOR_CONFIG_FORMAT;
  corps: SimulatorConfigCorp[];
}

export function buildSimulatorConfig(sources: readonly SimulatorConfigSource[]): SimulatorConfigDocument {
  return {
    format: SIMULATOR_CONFIG_FORMAT,
    corps: sources.map((s) => ({
      corpid: s.corp.corpid,
      secret: s.corp.secret,
      sdk: `simulator:${s.url}`,
      keys: [...s.privateKeyPems.entries()].sort(([a], [b]) => a - b).map(([version, privateKeyPem]) => ({ version, privateKeyPem })),
      ...(s.api
        ? {
            contactsSecret: s.api.secrets.contacts,
            customerSecret: s.api.secrets.customer,
            callbacks: Object.values(s.api.callbackApps).map((c) => ({ app: c.app, token: c.token, aesKey: c.encodingAesKey })),
          }
        : {}),
    })),
  };
}

/** Writes the config of one or more running simulators to `file` (mode 0600). */
export async function writeSimulatorConfig(file: string, ...sources: SimulatorConfigSource[]): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(buildSimulatorConfig(sources), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    // the mode given to writeFile is filtered by the umask; make sure it is exactly 0600
    await chmod(tmp, 0o600);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
