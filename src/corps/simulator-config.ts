import { validateAppName, validateCallbackSecrets } from '../callbacks/callback-apps.ts';
import { ValidationError } from '../errors/errors.ts';
import type { CorpConfig } from './corp-registry.ts';
import { parseChatLimit, parseSdkSpec, validateCorpId } from './corp-settings.ts';

export const SIMULATOR_CONFIG_FORMAT = 'wecom-archive-simulator/1';

export interface ImportedCorp {
  corp: CorpConfig;
  keys: Array<{ version: number; privateKeyPem: string }>;
  /** the directory's secrets, when the file has them */
  apiSecrets: { contactsSecret?: string; customerSecret?: string };
  /** the callback apps' settings */
  callbacks: SimulatorCallbackApp[];
}

/** One callback app's settings in the file, as `corp callback add` takes them. */
export interface SimulatorCallbackApp {
  app: string;
  token: string;
  aesKey: string;
}

/**
 * Reads the JSON that `wecom-archive simulator --write-config FILE` writes:
 * `{"format":"wecom-archive-simulator/1","corps":[{"corpid","secret","sdk","keys":[{"version","privateKeyPem"}],
 * "contactsSecret"?,"customerSecret"?,"callbacks"?:[{"app","token","aesKey"}]}]}`.
 * Every field is checked; a bad file is refused whole, naming the first bad field.
 */
export function readSimulatorConfig(text: string, cwd: string): ImportedCorp[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ValidationError('SIMULATOR_CONFIG_INVALID', `the file is not JSON (${(err as Error).message}); it should be written by \`wecom-archive simulator --write-config FILE\``);
  }
  const bad = (what: string) => new ValidationError('SIMULATOR_CONFIG_INVALID', `simulator config: ${what}`);
  if (!isObject(doc) || doc.format !== SIMULATOR_CONFIG_FORMAT) throw bad(`"format" must be "${SIMULATOR_CONFIG_FORMAT}"`);
  if (!Array.isArray(doc.corps) || doc.corps.length === 0) throw bad('"corps" must be a non-empty array');
  return doc.corps.map((c: unknown, i: number): ImportedCorp => {
    if (!isObject(c)) throw bad(`corps[${i}] must be an object`);
    if (typeof c.corpid !== 'string') throw bad(`corps[${i}].corpid must be a string`);
    if (typeof c.secret !== 'string' || c.secret === '') throw bad(`corps[${i}].secret must be a non-empty string`);
    if (typeof c.sdk !== 'string') throw bad(`corps[${i}].sdk must be a string`);
    if (!Array.isArray(c.keys)) throw bad(`corps[${i}].keys must be an array`);
    const keys = c.keys.map((k: unknown, j: number) => {
      if (!isObject(k) || !Number.isInteger(k.version) || typeof k.privateKeyPem !== 'string') throw bad(`corps[${i}].keys[${j}] must have an integer "version" and a "privateKeyPem" string`);
      return { version: k.version as number, privateKeyPem: k.privateKeyPem };
    });
    const apiSecrets: ImportedCorp['apiSecrets'] = {};
    for (const field of ['contactsSecret', 'customerSecret'] as const) {
      const value = c[field];
      if (value === undefined) continue;
      if (typeof value !== 'string' || value === '') throw bad(`corps[${i}].${field} must be a non-empty string`);
      apiSecrets[field] = value;
    }
    if (c.callbacks !== undefined && !Array.isArray(c.callbacks)) throw bad(`corps[${i}].callbacks must be an array`);
    const callbacks = ((c.callbacks ?? []) as unknown[]).map((k, j) => {
      if (!isObject(k) || typeof k.app !== 'string' || typeof k.token !== 'string' || typeof k.aesKey !== 'string') throw bad(`corps[${i}].callbacks[${j}] must have "app", "token" and "aesKey" strings`);
      // checked as `corp callback add` checks them, so a bad file is refused before anything of it is imported
      try {
        validateAppName(k.app);
        validateCallbackSecrets(k.token, k.aesKey);
      } catch (err) {
        throw bad(`corps[${i}].callbacks[${j}]: ${(err as Error).message}`);
      }
      return { app: k.app, token: k.token, aesKey: k.aesKey };
    });
    return {
      corp: { corpid: validateCorpId(c.corpid), secret: c.secret, sdk: parseSdkSpec(c.sdk, cwd), proxy: null, proxyAuth: null, limit: parseChatLimit(undefined), timeoutS: 10 },
      keys,
      apiSecrets,
      callbacks,
    };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
