import { ValidationError } from '../errors/errors.ts';
import type { CorpConfig } from './corp-registry.ts';
import { parseChatLimit, parseSdkSpec, validateCorpId } from './corp-settings.ts';

export const SIMULATOR_CONFIG_FORMAT = 'wecom-archive-simulator/1';

export interface ImportedCorp {
  corp: CorpConfig;
  keys: Array<{ version: number; privateKeyPem: string }>;
}

/**
 * Reads the JSON that `wecom-archive simulator --write-config FILE` writes:
 * `{"format":"wecom-archive-simulator/1","corps":[{"corpid","secret","sdk","keys":[{"version","privateKeyPem"}]}]}`.
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
    return {
      corp: { corpid: validateCorpId(c.corpid), secret: c.secret, sdk: parseSdkSpec(c.sdk, cwd), proxy: null, proxyAuth: null, limit: parseChatLimit(undefined), timeoutS: 10 },
      keys,
    };
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
