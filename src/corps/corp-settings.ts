import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ValidationError } from '../errors/errors.ts';
import { CHAT_LIMIT_MAX } from '../sdk/backend.ts';

/** Where a corp's SDK calls go: the built-in simulator over HTTP, or the real .so. */
export type SdkSpec = { kind: 'simulator'; url: string } | { kind: 'native'; path: string };

const CORPID = /^[A-Za-z0-9_-]{1,64}$/;

export function validateCorpId(corpid: string): string {
  if (!CORPID.test(corpid))
    throw new ValidationError(
      'CORPID_INVALID',
      `corpid must be 1–64 letters, digits, "_" or "-" (as shown in the WeCom admin console, e.g. ww1234567890abcdef), got ${JSON.stringify(corpid.slice(0, 80))}`,
    );
  return corpid;
}

/** Parses `simulator:URL` or `native:PATH` (a relative PATH is resolved against `cwd`). */
export function parseSdkSpec(text: string, cwd: string): SdkSpec {
  if (text.startsWith('simulator:')) {
    const url = text.slice('simulator:'.length);
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
      throw new ValidationError(
        'SDK_SPEC_INVALID',
        `--sdk simulator:URL needs an http(s) URL of a running simulator, e.g. simulator:http://127.0.0.1:9100; got ${JSON.stringify(maskUrlCredentials(url).slice(0, 200))}`,
      );
    }
    // The simulator asks for no login and the backend sends none, so a user or password here would
    // only sit unsealed in the corp's settings and show in `corp list`.
    if (parsed.username || parsed.password) {
      throw new ValidationError(
        'SDK_SPEC_INVALID',
        '--sdk simulator:URL must not carry a user or password (the simulator takes none); give the URL without them, e.g. simulator:http://127.0.0.1:9100',
      );
    }
    return { kind: 'simulator', url: parsed.toString().replace(/\/$/, '') };
  }
  if (text.startsWith('native:')) {
    const path = text.slice('native:'.length);
    if (!path) throw new ValidationError('SDK_SPEC_INVALID', '--sdk native:PATH needs the path of libWeWorkFinanceSdk_C.so');
    return { kind: 'native', path: resolve(cwd, path) };
  }
  throw new ValidationError('SDK_SPEC_INVALID', `--sdk must be simulator:URL or native:PATH, got ${JSON.stringify(maskUrlCredentials(text).slice(0, 200))}`);
}

/**
 * An SDK setting read back from the database. Settings stored before URLs with a user or password
 * were refused lose them here (the simulator backend never sent them), so they neither load nor show.
 */
export function storedSdkSpec(text: string): SdkSpec {
  return parseSdkSpec(text.startsWith('simulator:') ? maskUrlCredentials(text, '') : text, '/');
}

/** Hides the user and password of a URL (or of text that only looks like one) for messages and lists. */
export function maskUrlCredentials(text: string, mask = '***@'): string {
  return text.replace(/\/\/[^/?#@\s]*@/g, `//${mask}`);
}

/**
 * Checks a corp's settings before they are stored (`corp add`, `corp import`): the CLI's argument
 * parsing is not the only way in, so the rules live here.
 */
export function validateCorpSettings(
  corp: { corpid: string; secret: string; sdk: SdkSpec; proxyAuth: string | null },
  fields: { secret: string; sdk: string; proxyAuth: string } = { secret: '--secret', sdk: '--sdk', proxyAuth: '--proxy-auth' },
): void {
  validateCorpId(corp.corpid);
  validateSecret(corp.secret, fields.secret, 'the 会话内容存档 (chat archive) Secret from the WeCom admin console');
  if (corp.proxyAuth !== null) validateSecret(corp.proxyAuth, fields.proxyAuth, 'user:password of the proxy');
  checkSdkLibrary(corp.sdk, fields.sdk);
}

const SECRET_MAX = 512;

/**
 * A secret as pasted: one line of visible characters. A line break, tab or other control character
 * (a file read with its newline, a paste across lines) would be sealed and sent to WeCom as it is, and
 * fail there far from its cause. The value itself never appears in the error.
 */
export function validateSecret(value: string, field: string, what: string): string {
  if (value.trim() === '') throw new ValidationError('SECRET_MISSING', `${field} is required: ${what}`);
  if (value.length > SECRET_MAX) throw new ValidationError('SECRET_INVALID', `${field} is ${value.length} characters long; at most ${SECRET_MAX} are accepted (${what})`);
  const bad = value.search(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
  if (bad >= 0) {
    const name = value[bad] === '\n' || value[bad] === '\r' ? 'a line break' : value[bad] === '\t' ? 'a tab' : 'a control character';
    throw new ValidationError('SECRET_INVALID', `${field} holds ${name} at character ${bad + 1}; give ${what} exactly as shown, on one line`);
  }
  return value;
}

/** A native SDK path must name an existing file: a typo should fail now, not at the first pull. */
export function checkSdkLibrary(sdk: SdkSpec, field = '--sdk'): void {
  if (sdk.kind !== 'native') return;
  let isFile: boolean;
  try {
    isFile = statSync(sdk.path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ValidationError(
      'SDK_LIBRARY_MISSING',
      `${field} native:${sdk.path}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code ?? (err as Error).message})`}; give the path of libWeWorkFinanceSdk_C.so`,
    );
  }
  if (!isFile) throw new ValidationError('SDK_LIBRARY_MISSING', `${field} native:${sdk.path} is not a file; give the path of libWeWorkFinanceSdk_C.so itself`);
}

/** The stored form of an SDK setting (`simulator:URL` or `native:PATH`). */
export function formatSdkSpec(spec: SdkSpec): string {
  return spec.kind === 'simulator' ? `simulator:${spec.url}` : `native:${spec.path}`;
}

export function parseChatLimit(text: string | undefined): number {
  if (text === undefined) return CHAT_LIMIT_MAX;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > CHAT_LIMIT_MAX)
    throw new ValidationError('LIMIT_INVALID', `--limit must be an integer 1–${CHAT_LIMIT_MAX} (WeCom refuses more than ${CHAT_LIMIT_MAX} per call), got ${JSON.stringify(text)}`);
  return n;
}

export function parseTimeout(text: string | undefined): number {
  if (text === undefined) return 10;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 300) throw new ValidationError('TIMEOUT_INVALID', `--timeout must be a number of seconds 1–300, got ${JSON.stringify(text)}`);
  return n;
}

/** A proxy for the SDK: `http://host:port`, `https://…` or `socks5://…` (as the SDK accepts). */
export function parseProxy(text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  let parsed: URL | undefined;
  try {
    parsed = new URL(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['http:', 'https:', 'socks5:', 'socks5h:'].includes(parsed.protocol) || !parsed.hostname) {
    throw new ValidationError('PROXY_INVALID', `--proxy must look like http://10.0.0.1:8081 or socks5://10.0.0.1:1080, got ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (parsed.username || parsed.password) throw new ValidationError('PROXY_INVALID', '--proxy must not carry a user or password: give them with --proxy-auth user:pass');
  return text;
}

export function parseProxyAuth(text: string | undefined): string | null {
  if (text === undefined || text === '') return null;
  validateSecret(text, '--proxy-auth', 'user:password of the proxy');
  if (!/^[^:]+:.*$/.test(text)) throw new ValidationError('PROXY_AUTH_INVALID', '--proxy-auth must be user:password');
  return text;
}
