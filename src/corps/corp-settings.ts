import { resolve } from 'node:path';
import { ValidationError } from '../errors/errors.ts';
import { CHAT_LIMIT_MAX } from '../sdk/backend.ts';

/** Where a corp's SDK calls go: the built-in simulator over HTTP, or the real .so. */
export type SdkSpec = { kind: 'simulator'; url: string } | { kind: 'native'; path: string };

const CORPID = /^[A-Za-z0-9_-]{1,64}$/;

export function validateCorpId(corpid: string): string {
  if (!CORPID.test(corpid)) throw new ValidationError('CORPID_INVALID', `corpid must be 1–64 letters, digits, "_" or "-" (as shown in the WeCom admin console, e.g. ww1234567890abcdef), got ${JSON.stringify(corpid.slice(0, 80))}`);
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
      throw new ValidationError('SDK_SPEC_INVALID', `--sdk simulator:URL needs an http(s) URL of a running simulator, e.g. simulator:http://127.0.0.1:9100; got ${JSON.stringify(url.slice(0, 200))}`);
    }
    return { kind: 'simulator', url: parsed.toString().replace(/\/$/, '') };
  }
  if (text.startsWith('native:')) {
    const path = text.slice('native:'.length);
    if (!path) throw new ValidationError('SDK_SPEC_INVALID', '--sdk native:PATH needs the path of libWeWorkFinanceSdk_C.so');
    return { kind: 'native', path: resolve(cwd, path) };
  }
  throw new ValidationError('SDK_SPEC_INVALID', `--sdk must be simulator:URL or native:PATH, got ${JSON.stringify(text.slice(0, 200))}`);
}

export function formatSdkSpec(spec: SdkSpec): string {
  return spec.kind === 'simulator' ? `simulator:${spec.url}` : `native:${spec.path}`;
}

export function parseChatLimit(text: string | undefined): number {
  if (text === undefined) return CHAT_LIMIT_MAX;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > CHAT_LIMIT_MAX) throw new ValidationError('LIMIT_INVALID', `--limit must be an integer 1–${CHAT_LIMIT_MAX} (WeCom refuses more than ${CHAT_LIMIT_MAX} per call), got ${JSON.stringify(text)}`);
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
  if (!/^[^:]+:.*$/.test(text)) throw new ValidationError('PROXY_AUTH_INVALID', '--proxy-auth must be user:password');
  return text;
}
