import { validateAppName, validateCallbackSecrets } from '../callbacks/callback-apps.ts';
import { ArchiveError, ValidationError } from '../errors/errors.ts';
import { validateKeyVersion } from '../vault/key-vault.ts';
import { parseRsaPrivateKey } from '../vault/rsa-key.ts';
import { validateApiSecret } from '../wecom-api/corp-api-settings.ts';
import type { CorpConfig } from './corp-registry.ts';
import { checkSdkLibrary, parseChatLimit, parseSdkSpec, validateCorpId, validateSecret } from './corp-settings.ts';

/** What a running simulator knows of its corp: what its import file is written from. */
export interface SimulatorConfigSource {
  readonly url: string;
  readonly corp: { readonly corpid: string; readonly secret: string };
  /** only versions whose private key the simulator knows */
  readonly privateKeyPems: ReadonlyMap<number, string>;
  /** the WeCom API side: the directory's secrets and the callback apps' settings */
  readonly api?: {
    readonly secrets: { readonly contacts: string; readonly customer: string };
    readonly callbackApps: Readonly<Record<string, { readonly app: string; readonly token: string; readonly encodingAesKey: string }>>;
  };
}

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
 * The whole file is checked before anything of it is imported, by the rules `corp add`, `keys add`,
 * `corp secrets` and `corp callback add` apply, and every problem is reported at once, each under the
 * path of its field (`corps[1].keys[0].privateKeyPem: …`).
 */
export function readSimulatorConfig(text: string, cwd: string): ImportedCorp[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // V8 quotes the text around the fault, which may be a secret or a key: give only where it is
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new ValidationError(
      'SIMULATOR_CONFIG_INVALID',
      `the file is not JSON${position === undefined ? '' : ` (error at character ${Number(position) + 1})`}; it should be written by \`wecom-archive simulator --write-config FILE\``,
    );
  }
  const bad = (what: string) => new ValidationError('SIMULATOR_CONFIG_INVALID', `simulator config: ${what}`);
  if (!isObject(doc) || doc.format !== SIMULATOR_CONFIG_FORMAT) throw bad(`"format" must be "${SIMULATOR_CONFIG_FORMAT}"`);
  if (!Array.isArray(doc.corps) || doc.corps.length === 0) throw bad('"corps" must be a non-empty array');

  const problems: string[] = [];
  /** The value `check` returns, or undefined after noting its error under `field`. */
  const field = <T>(path: string, check: () => T): T | undefined => {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      problems.push(`${path}: ${err.message}`);
      return undefined;
    }
  };
  const need = (path: string, ok: boolean, what: string): boolean => {
    if (!ok) problems.push(`${path} must be ${what}`);
    return ok;
  };

  const seenCorps = new Map<string, number>();
  const corps = doc.corps.map((c: unknown, i: number): ImportedCorp | undefined => {
    const at = `corps[${i}]`;
    if (!isObject(c)) {
      problems.push(`${at} must be an object`);
      return undefined;
    }
    const corpid = need(`${at}.corpid`, typeof c.corpid === 'string', 'a string') ? field(`${at}.corpid`, () => validateCorpId(c.corpid as string)) : undefined;
    if (corpid !== undefined) {
      const first = seenCorps.get(corpid);
      if (first !== undefined) problems.push(`${at}.corpid: corp ${corpid} appears twice in the file (also corps[${first}])`);
      else seenCorps.set(corpid, i);
    }
    const secret = need(`${at}.secret`, typeof c.secret === 'string', 'a non-empty string')
      ? field(`${at}.secret`, () => validateSecret(c.secret as string, 'the secret', 'the 会话内容存档 (chat archive) Secret'))
      : undefined;
    const sdk = need(`${at}.sdk`, typeof c.sdk === 'string', 'a string')
      ? field(`${at}.sdk`, () => {
          const spec = parseSdkSpec(c.sdk as string, cwd);
          checkSdkLibrary(spec);
          return spec;
        })
      : undefined;
    const keys = readKeys(c.keys, at, problems, field);
    const apiSecrets: ImportedCorp['apiSecrets'] = {};
    for (const name of ['contactsSecret', 'customerSecret'] as const) {
      const value = c[name];
      if (value === undefined) continue;
      if (!need(`${at}.${name}`, typeof value === 'string' && value !== '', 'a non-empty string')) continue;
      field(`${at}.${name}`, () => validateApiSecret(value as string, 'the secret'));
      apiSecrets[name] = value as string;
    }
    const callbacks = readCallbacks(c.callbacks, at, problems, field, need);
    if (corpid === undefined || secret === undefined || sdk === undefined || keys === undefined || callbacks === undefined) return undefined;
    return {
      corp: { corpid, secret, sdk, proxy: null, proxyAuth: null, limit: parseChatLimit(undefined), timeoutS: 10 },
      keys,
      apiSecrets,
      callbacks,
    };
  });
  if (problems.length > 0) {
    throw new ValidationError(
      'SIMULATOR_CONFIG_INVALID',
      problems.length === 1
        ? `simulator config: ${problems[0]}; nothing of the file was imported`
        : `simulator config: ${problems.length} problems, nothing of the file was imported:\n  ${problems.join('\n  ')}`,
    );
  }
  return corps as ImportedCorp[];
}

type FieldCheck = <T>(path: string, check: () => T) => T | undefined;

/** The corp's keys: versions unique, each key readable and strong enough, as `keys add` wants them. */
function readKeys(value: unknown, at: string, problems: string[], field: FieldCheck): ImportedCorp['keys'] | undefined {
  if (!Array.isArray(value)) {
    problems.push(`${at}.keys must be an array`);
    return undefined;
  }
  const seen = new Map<number, number>();
  let ok = true;
  const keys = value.map((k: unknown, j: number) => {
    const path = `${at}.keys[${j}]`;
    if (!isObject(k)) {
      problems.push(`${path} must be an object with an integer "version" and a "privateKeyPem" string`);
      ok = false;
      return undefined;
    }
    const version = Number.isInteger(k.version) ? field(`${path}.version`, () => validateKeyVersion(k.version as number)) : undefined;
    if (!Number.isInteger(k.version)) problems.push(`${path}.version must be an integer (the key's publickey_ver)`);
    if (version !== undefined) {
      const first = seen.get(version);
      if (first !== undefined) problems.push(`${path}.version: version ${version} appears twice (also ${at}.keys[${first}]); a version has one key`);
      else seen.set(version, j);
    }
    let pem: string | undefined;
    if (typeof k.privateKeyPem !== 'string') problems.push(`${path}.privateKeyPem must be a string (the private key PEM)`);
    else if (field(`${path}.privateKeyPem`, () => parseRsaPrivateKey(k.privateKeyPem as string)) !== undefined) pem = k.privateKeyPem;
    if (version === undefined || pem === undefined) {
      ok = false;
      return undefined;
    }
    return { version, privateKeyPem: pem };
  });
  return ok ? (keys as ImportedCorp['keys']) : undefined;
}

/** The corp's callback apps: names unique, each checked as `corp callback add` checks it. */
function readCallbacks(
  value: unknown,
  at: string,
  problems: string[],
  field: FieldCheck,
  need: (path: string, ok: boolean, what: string) => boolean,
): SimulatorCallbackApp[] | undefined {
  if (value === undefined) return [];
  if (!need(`${at}.callbacks`, Array.isArray(value), 'an array')) return undefined;
  const seen = new Map<string, number>();
  let ok = true;
  const apps = (value as unknown[]).map((k, j) => {
    const path = `${at}.callbacks[${j}]`;
    if (!isObject(k) || typeof k.app !== 'string' || typeof k.token !== 'string' || typeof k.aesKey !== 'string') {
      problems.push(`${path} must have "app", "token" and "aesKey" strings`);
      ok = false;
      return undefined;
    }
    const app = field(`${path}.app`, () => validateAppName(k.app as string));
    if (app !== undefined) {
      const first = seen.get(app);
      if (first !== undefined) problems.push(`${path}.app: callback app ${app} appears twice (also ${at}.callbacks[${first}])`);
      else seen.set(app, j);
    }
    try {
      validateCallbackSecrets(k.token, k.aesKey);
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      problems.push(`${path}.${err.code === 'CALLBACK_TOKEN_INVALID' ? 'token' : 'aesKey'}: ${err.message}`);
      ok = false;
    }
    if (app === undefined) ok = false;
    return { app: k.app, token: k.token, aesKey: k.aesKey };
  });
  return ok ? (apps as SimulatorCallbackApp[]) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
