/**
 * `doctor` for one corp: the SDK checks (library-checks.ts) with its own credentials, then what the
 * archive itself knows — is the proxy reachable, which key versions the recent envelopes need and
 * which are stored, and how many hours are left before WeCom's 5-day window would cost data.
 * Read-only: it never moves a cursor or stores an envelope.
 */
import { connect } from 'node:net';
import type { Kysely } from 'kysely';
import type { CorpRegistry } from '../corps/corp-registry.ts';
import { formatSdkSpec } from '../corps/corp-settings.ts';
import { EnvelopeRepository } from '../decrypt/envelope-repository.ts';
import { readCursor } from '../pull/cursor-store.ts';
import { WECOM_RETENTION_MS } from '../pull/gap-kind.ts';
import { createSimulatorBackend } from '../sdk/simulator-backend.ts';
import { corpStatuses } from '../status/corp-status.ts';
import type { Database } from '../store/schema.ts';
import { type Check, check, checkLibraryFile, probeBackend, probeLibrary, type ProbeResult } from './library-checks.ts';

export interface Diagnosis {
  /** the corp, or null for a library checked on its own */
  corpid: string | null;
  sdk: string;
  checks: Check[];
}

export interface DiagnosisDeps {
  db: Kysely<Database>;
  corps: CorpRegistry;
  /** environment for the SDK host (the command's) */
  env?: NodeJS.ProcessEnv;
  now?(): number;
}

/** Checks a library without a corp: the file, CPU, glibc and loading (no Init: no credentials). */
export async function diagnoseLibrary(libPath: string, env?: NodeJS.ProcessEnv): Promise<Diagnosis> {
  const file = checkLibraryFile(libPath);
  const checks = [...file.checks];
  if (file.usable) checks.push(...(await probeLibrary({ libPath, ...(env ? { env } : {}) })).checks);
  checks.push(check('init', 'Init(corpid, secret)', 'skip', 'no corp given', "run `wecom-archive doctor --corp ID` to check Init and GetChatData with a corp's credentials"));
  return { corpid: null, sdk: `native:${libPath}`, checks };
}

export async function diagnoseCorp(deps: DiagnosisDeps, corpid: string): Promise<Diagnosis> {
  const now = deps.now?.() ?? Date.now();
  const corp = await deps.corps.get(corpid);
  const seq = await readCursor(deps.db, corpid);
  const proxy = corp.proxy ?? '';
  const passwd = corp.proxyAuth ?? '';
  const checks: Check[] = [];

  let probe: ProbeResult;
  if (corp.sdk.kind === 'native') {
    const file = checkLibraryFile(corp.sdk.path);
    checks.push(...file.checks);
    probe = file.usable
      ? await probeLibrary({
          libPath: corp.sdk.path,
          credentials: { corpid, secret: corp.secret, seq, proxy, passwd, timeoutS: corp.timeoutS },
          ...(deps.env ? { env: deps.env } : {}),
        })
      : { checks: [check('load', 'library loads, all 17 SDK functions', 'skip', 'not tried: the library cannot work here (see above)')], probedKeyVersion: null };
  } else {
    checks.push(check('library-file', 'SDK library file', 'skip', `this corp uses the simulator (${corp.sdk.url}), not the native SDK`));
    const backend = createSimulatorBackend({ url: corp.sdk.url, corpid, secret: corp.secret });
    try {
      probe = await probeBackend(backend, seq, proxy, passwd, corp.timeoutS);
    } finally {
      await backend.close();
    }
  }
  checks.push(...probe.checks);
  checks.push(await checkProxy(corp.proxy));
  checks.push(await checkKeys(deps.db, corpid, now, probe.probedKeyVersion));
  checks.push(await checkWindow(deps.db, corpid, now));
  return { corpid, sdk: formatSdkSpec(corp.sdk), checks };
}

const PROXY_TITLE = 'proxy reachable';

/** A TCP connection to the proxy (the SDK's own traffic through it is what the probe shows). */
export async function checkProxy(proxy: string | null, timeoutMs = 3_000): Promise<Check> {
  if (!proxy) return check('proxy', PROXY_TITLE, 'skip', 'no proxy configured: the SDK connects to qyapi.weixin.qq.com directly');
  let url: URL;
  try {
    url = new URL(proxy);
  } catch {
    return check(
      'proxy',
      PROXY_TITLE,
      'fail',
      `the proxy setting ${JSON.stringify(proxy.slice(0, 100))} is not a URL`,
      'set it again with `corp add … --proxy http://HOST:PORT --replace`',
    );
  }
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : url.protocol.startsWith('socks') ? 1080 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const error = await new Promise<string | null>((resolve) => {
    const socket = connect({ host, port });
    const done = (result: string | null) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000} s`));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
  return error === null
    ? check('proxy', PROXY_TITLE, 'ok', `${url.protocol}//${host}:${port} accepts connections`)
    : check(
        'proxy',
        PROXY_TITLE,
        'fail',
        `cannot connect to the proxy ${url.protocol}//${host}:${port}: ${error}`,
        "check that the proxy runs and that this server may reach it (firewall), or fix the corp's --proxy",
      );
}

const KEYS_TITLE = 'private keys for the key versions in use';

/** Key versions needed by envelopes of the last 5 days, by envelopes waiting for a key, and by the probe. */
export async function checkKeys(db: Kysely<Database>, corpid: string, now: number, probedVersion: number | null): Promise<Check> {
  const envelopes = new EnvelopeRepository(db);
  const [inUse, stored] = await Promise.all([envelopes.keyVersionsInUse(corpid, now - WECOM_RETENTION_MS), envelopes.keyVersions(corpid)]);
  const needed = new Set(inUse);
  if (probedVersion !== null) needed.add(probedVersion);
  const present = stored.map((k) => k.version);
  const list = (v: number[]) => (v.length ? v.join(', ') : 'none');
  const neededList = [...needed].sort((a, b) => a - b);
  const missing = neededList.filter((v) => !present.includes(v));
  const add = (v: number) => `\`wecom-archive keys add --corp ${corpid} --version ${v} --file KEY.pem\``;
  if (missing.length) {
    return check(
      'keys',
      KEYS_TITLE,
      'fail',
      `recent messages need key version(s) ${list(neededList)}; stored: ${list(present)}; missing: ${missing.join(', ')}`,
      `add the private key of each missing version, e.g. ${add(missing[0]!)}; messages of that version stay stored and are decrypted once it is added`,
    );
  }
  if (neededList.length === 0) {
    return present.length
      ? check('keys', KEYS_TITLE, 'ok', `no recent messages to check against; stored key version(s): ${list(present)}`)
      : check(
          'keys',
          KEYS_TITLE,
          'warn',
          'no private key is stored for this corp',
          `generate one with \`wecom-archive keys generate --corp ${corpid}\` and paste its public key in the admin console, or ${add(1)}`,
        );
  }
  return check('keys', KEYS_TITLE, 'ok', `recent messages need key version(s) ${list(neededList)}; all are stored (stored: ${list(present)})`);
}

const WINDOW_TITLE = "hours left in WeCom's 5-day window";

export async function checkWindow(db: Kysely<Database>, corpid: string, now: number): Promise<Check> {
  const status = (await corpStatuses(db, now)).find((s) => s.corpid === corpid);
  const gaps = status && status.gaps.count ? `; ${status.gaps.count} gap(s) already recorded (see \`status\`)` : '';
  if (!status || status.hoursLeft === null) {
    return check(
      'window',
      WINDOW_TITLE,
      'warn',
      `the archive has not caught up with WeCom yet${gaps}: until it does, messages older than 5 days can be lost`,
      'run `wecom-archive run` (or `run --once`) until the pull catches up, and keep it running',
    );
  }
  const h = status.hoursLeft;
  if (h <= 0)
    return check(
      'window',
      WINDOW_TITLE,
      'fail',
      `the last catch-up was more than 5 days ago${gaps}: messages not pulled since may already be lost`,
      'start `wecom-archive run` now and fix whatever stops it (see the checks above and `status`)',
    );
  if (h < 24)
    return check(
      'window',
      WINDOW_TITLE,
      'warn',
      `${h} h left before messages not yet pulled fall out of WeCom's 5-day window${gaps}`,
      'make sure `wecom-archive run` is running and pulling (see `status`)',
    );
  return check('window', WINDOW_TITLE, 'ok', `${h} h left before messages not yet pulled would fall out of WeCom's 5-day window${gaps}`);
}
