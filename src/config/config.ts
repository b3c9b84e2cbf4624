import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { ConfigError } from '../errors/errors.ts';
import { databaseKind } from '../store/database-url.ts';
import { dirCreationProblem } from './private-dir.ts';

/** Settings every command shares, parsed once at start: nothing else reads process.env. */
export interface Config {
  /** absolute path of the data directory (SQLite file, master key, media) */
  readonly dataDir: string;
  /** `sqlite:PATH`, `postgres://…` or `mysql://…` */
  readonly dbUrl: string;
  /** WECOM_ARCHIVE_MASTER_KEY if set; never printed */
  readonly masterKey: string | undefined;
  /** port of the archive's HTTP server (callbacks, later the UI) */
  readonly port: number;
  readonly logLevel: LogLevel;
  /** media downloads, their store and voice conversion */
  readonly media: MediaConfig;
  /** the callback endpoint and the directory */
  readonly callbacks: CallbackConfig;
  /** /metrics, /readyz and alerts */
  readonly ops: OpsConfig;
  /** the HTTP API's edge */
  readonly http: HttpConfig;
  /**
   * Whether `run` (and `demo`) index stored messages for search. Off, messages are still queued
   * for the index, and a run with it on (or `reindex`) indexes them later.
   */
  readonly searchIndex: boolean;
}

export interface OpsConfig {
  /** the bearer token /metrics requires; undefined: /metrics answers on loopback only. Never printed. */
  readonly metricsToken: string | undefined;
  readonly alerts: AlertConfig;
}

/** Alert rules' thresholds, where alerts go, and how often at most (ops/alerts). */
export interface AlertConfig {
  /** a WeCom group robot's webhook URL (`…/cgi-bin/webhook/send?key=KEY`); its key is a secret, never printed */
  readonly robotUrl: string | undefined;
  /** a URL that takes each alert as JSON; never printed (it may hold a token) */
  readonly webhookUrl: string | undefined;
  /** seconds between evaluations */
  readonly intervalS: number;
  /** alert when fewer hours than this are left in WeCom's window */
  readonly hoursLeft: number;
  /** alert when more media downloads than this failed in the last hour */
  readonly mediaFailures: number;
  /** alert when more envelopes than this wait */
  readonly waitingEnvelopes: number;
  /** alert when more SDK hosts than this were restarted in the last hour */
  readonly sdkRestarts: number;
  /** at most one message per rule and corp in this many minutes */
  readonly throttleMinutes: number;
  /** at most this many messages in any hour, over every rule and corp */
  readonly maxPerHour: number;
}

export interface HttpConfig {
  /**
   * `--trust-proxy`: the server sits behind one reverse proxy whose X-Forwarded-For (its last entry)
   * and X-Forwarded-Proto are believed; without it the socket's address is the client's, and the
   * session cookie is never marked Secure (the server itself speaks plain HTTP).
   */
  readonly trustProxy: boolean;
  /** sign-in attempts allowed per client address in each window */
  readonly loginPerIp: number;
  /** sign-in attempts allowed per username in each window */
  readonly loginPerUsername: number;
  /** the window of both sign-in limits, in seconds */
  readonly loginWindowS: number;
}

export interface CallbackConfig {
  /** callbacks whose timestamp is further than this from now are refused; 0 turns the check off */
  readonly maxAgeS: number;
  /** refuse callbacks from addresses not in WeCom's callback IP list (getcallbackip) */
  readonly ipCheck: 'off' | 'enforce';
  /** reverse proxies whose X-Forwarded-For is believed (IPs or CIDRs) */
  readonly trustedProxies: readonly string[];
  /** seconds between full directory syncs */
  readonly directorySyncIntervalS: number;
}

export type MediaStoreConfig =
  | { readonly kind: 'local'; readonly dir: string }
  | {
      readonly kind: 's3';
      readonly endpoint: string;
      readonly bucket: string;
      readonly region: string;
      /** '' or ending in '/' */
      readonly prefix: string;
      readonly accessKeyId: string;
      /** never printed */
      readonly secretAccessKey: string;
      readonly sessionToken: string | undefined;
    };

export interface MediaConfig {
  readonly store: MediaStoreConfig;
  /** partial downloads (always on local disk) */
  readonly partialDir: string;
  /** downloads at once over all corps; 0 turns downloading off (jobs are still recorded) */
  readonly concurrency: number;
  /** downloads at once per corp */
  readonly corpConcurrency: number;
  /** ffmpeg used for voice formats JavaScript cannot decode (AMR-WB); null: none */
  readonly ffmpeg: string | null;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Global flags, as given on the command line (they win over the environment). */
export interface GlobalFlags {
  db?: string | undefined;
  'data-dir'?: string | undefined;
  port?: string | undefined;
  'log-level'?: string | undefined;
  'media-store'?: string | undefined;
  'media-concurrency'?: string | undefined;
  'media-corp-concurrency'?: string | undefined;
  ffmpeg?: string | undefined;
  'search-index'?: string | undefined;
  'metrics-token-file'?: string | undefined;
  'trust-proxy'?: boolean | undefined;
}

export const GLOBAL_OPTIONS = {
  db: { type: 'string' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
  'media-store': { type: 'string' },
  'media-concurrency': { type: 'string' },
  'media-corp-concurrency': { type: 'string' },
  ffmpeg: { type: 'string' },
  'search-index': { type: 'string' },
  'metrics-token-file': { type: 'string' },
  'trust-proxy': { type: 'boolean' },
} as const;

/**
 * Builds the frozen Config from flags and environment. Every bad setting is reported at once,
 * each naming the flag or variable it came from.
 */
export function loadConfig(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): Config {
  const problems: string[] = [];
  const pick = (flag: Exclude<keyof GlobalFlags, 'trust-proxy'>, variable: string): { value: string; from: string } | undefined => {
    const fromFlag = flags[flag];
    if (fromFlag !== undefined) return { value: fromFlag, from: `--${flag}` };
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: variable };
    return undefined;
  };

  const dataDirSetting = pick('data-dir', 'WECOM_ARCHIVE_DATA_DIR');
  if (dataDirSetting && dataDirSetting.value.trim() === '') problems.push(`${dataDirSetting.from} is empty`);
  const dataDir = resolve(cwd, dataDirSetting?.value ?? './data');

  const dbSetting = pick('db', 'WECOM_ARCHIVE_DB');
  let dbUrl = `sqlite:${join(dataDir, 'archive.db')}`;
  if (dbSetting) {
    const v = dbSetting.value.trim();
    const kind = databaseKind(v);
    if (kind === 'sqlite') {
      const path = v.slice('sqlite:'.length);
      if (!path) problems.push(`${dbSetting.from}: sqlite: needs a file path, e.g. sqlite:./data/archive.db`);
      else dbUrl = `sqlite:${isAbsolute(path) || path === ':memory:' ? path : resolve(cwd, path)}`;
    } else if (kind !== undefined && /^[a-z]+:\/\/[^/]/.test(v)) {
      // a server database: its URL must name a host
      try {
        new URL(v);
        dbUrl = v;
      } catch {
        problems.push(`${dbSetting.from} is not a valid URL`);
      }
    } else {
      problems.push(`${dbSetting.from} must be sqlite:PATH, postgres://… or mysql://…`);
    }
  }

  const portSetting = pick('port', 'WECOM_ARCHIVE_PORT');
  let port = 8080;
  if (portSetting) {
    port = Number(portSetting.value);
    if (!/^\d+$/.test(portSetting.value) || port < 0 || port > 65535) problems.push(`${portSetting.from} must be a port number 0–65535, got "${portSetting.value}"`);
  }

  const levelSetting = pick('log-level', 'WECOM_ARCHIVE_LOG_LEVEL');
  const logLevel = (levelSetting?.value ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`${levelSetting?.from} must be one of ${LOG_LEVELS.join(', ')}`);

  const masterKey = env.WECOM_ARCHIVE_MASTER_KEY;
  const searchIndexSetting = pick('search-index', 'WECOM_ARCHIVE_SEARCH_INDEX');
  const searchIndex = searchIndexSetting === undefined || searchIndexSetting.value === 'on';
  if (searchIndexSetting !== undefined && !['on', 'off'].includes(searchIndexSetting.value)) {
    problems.push(`${searchIndexSetting.from} must be on or off, got ${JSON.stringify(searchIndexSetting.value)}`);
  }
  const media = mediaConfig(pick, env, dataDir, cwd, problems);
  const callbacks = callbackConfig(env, problems);
  const ops = opsConfig(flags, env, cwd, problems);
  const http = httpConfig(flags, env, problems);

  // Directories the archive would create: one that can never exist is refused here, before any
  // mkdir (under /proc Node's recursive mkdir loops forever). Places inside the data directory are
  // covered by its own check.
  const places: Array<[string, string]> = [[dataDir, dataDirSetting?.from ?? 'the data directory (default ./data)']];
  if (dbUrl.startsWith('sqlite:') && dbUrl !== 'sqlite::memory:') places.push([dirname(dbUrl.slice('sqlite:'.length)), dbSetting?.from ?? 'the SQLite database']);
  if (media.store.kind === 'local') places.push([media.store.dir, '--media-store']);
  for (const [i, [dir, from]] of places.entries()) {
    if (i > 0 && (dir === dataDir || dir.startsWith(`${dataDir}${sep}`))) continue;
    const problem = dirCreationProblem(dir, { writable: false });
    if (problem) problems.push(`${from}: cannot use ${dir}: ${problem}`);
  }

  if (problems.length > 0) throw new ConfigError(`invalid settings:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze({ dataDir, dbUrl, masterKey, port, logLevel, media, callbacks, ops, http, searchIndex });
}

/**
 * /metrics' token: `--metrics-token-file PATH` (one trailing newline dropped) or
 * WECOM_ARCHIVE_METRICS_TOKEN. A token is sent in a header, so it must be printable without spaces;
 * a short one could be guessed.
 */
function opsConfig(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>, cwd: string, problems: string[]): OpsConfig {
  let metricsToken: string | undefined;
  let from = 'WECOM_ARCHIVE_METRICS_TOKEN';
  const file = flags['metrics-token-file'];
  if (file !== undefined) {
    from = '--metrics-token-file';
    try {
      metricsToken = readFileSync(resolve(cwd, file), 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`--metrics-token-file: cannot read ${resolve(cwd, file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  } else if (env.WECOM_ARCHIVE_METRICS_TOKEN !== undefined && env.WECOM_ARCHIVE_METRICS_TOKEN !== '') metricsToken = env.WECOM_ARCHIVE_METRICS_TOKEN;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,512}$/.test(metricsToken)) {
    problems.push(`${from}: the metrics token must be 16–512 printable ASCII characters without spaces`);
    metricsToken = undefined;
  }
  return Object.freeze({ metricsToken, alerts: alertConfig(env, problems) });
}

/**
 * Alert settings, from the environment only (the URLs hold secrets): WECOM_ARCHIVE_ALERT_ROBOT_URL,
 * WECOM_ARCHIVE_ALERT_WEBHOOK_URL, and the thresholds WECOM_ARCHIVE_ALERT_HOURS_LEFT (24),
 * _MEDIA_FAILURES (10 an hour), _WAITING (100), _SDK_RESTARTS (3 an hour), _THROTTLE_MIN (15),
 * _MAX_PER_HOUR (20), _INTERVAL_S (30).
 */
function alertConfig(env: Readonly<Record<string, string | undefined>>, problems: string[]): AlertConfig {
  const integer = (suffix: string, fallback: number, min: number, max: number): number => {
    const variable = `WECOM_ARCHIVE_ALERT_${suffix}`;
    const text = env[variable];
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      problems.push(`${variable} must be an integer ${min}–${max}, got ${JSON.stringify(text)}`);
      return fallback;
    }
    return n;
  };
  const url = (suffix: string): string | undefined => {
    const variable = `WECOM_ARCHIVE_ALERT_${suffix}`;
    const text = env[variable];
    if (text === undefined || text === '') return undefined;
    let parsed: URL | undefined;
    try {
      parsed = new URL(text);
    } catch {
      parsed = undefined;
    }
    // the value itself is not repeated: it holds the robot's key or a token
    if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
      problems.push(`${variable} must be an http(s):// URL`);
      return undefined;
    }
    return text;
  };
  const robotUrl = url('ROBOT_URL');
  if (robotUrl !== undefined && !new URL(robotUrl).searchParams.get('key'))
    problems.push("WECOM_ARCHIVE_ALERT_ROBOT_URL must carry the robot's key: …/cgi-bin/webhook/send?key=KEY");
  return Object.freeze({
    robotUrl,
    webhookUrl: url('WEBHOOK_URL'),
    intervalS: integer('INTERVAL_S', 30, 1, 3600),
    hoursLeft: integer('HOURS_LEFT', 24, 1, 119),
    mediaFailures: integer('MEDIA_FAILURES', 10, 0, 1_000_000),
    waitingEnvelopes: integer('WAITING', 100, 0, 100_000_000),
    sdkRestarts: integer('SDK_RESTARTS', 3, 0, 100_000),
    throttleMinutes: integer('THROTTLE_MIN', 15, 0, 24 * 60),
    maxPerHour: integer('MAX_PER_HOUR', 20, 1, 10_000),
  });
}

type Pick = (flag: Exclude<keyof GlobalFlags, 'trust-proxy'>, variable: string) => { value: string; from: string } | undefined;

/**
 * HTTP edge settings: `--trust-proxy` (or WECOM_ARCHIVE_TRUST_PROXY=1), and the sign-in limits
 * WECOM_ARCHIVE_LOGIN_PER_IP (default 30), WECOM_ARCHIVE_LOGIN_PER_USERNAME (default 10) per
 * WECOM_ARCHIVE_LOGIN_WINDOW_S (default 60) seconds.
 */
function httpConfig(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>, problems: string[]): HttpConfig {
  let trustProxy = flags['trust-proxy'] === true;
  const trustText = env.WECOM_ARCHIVE_TRUST_PROXY;
  if (flags['trust-proxy'] === undefined && trustText !== undefined && trustText !== '') {
    if (/^(1|true|yes|on)$/i.test(trustText)) trustProxy = true;
    else if (!/^(0|false|no|off)$/i.test(trustText)) problems.push(`WECOM_ARCHIVE_TRUST_PROXY must be 1 or 0 (true/false), got "${trustText}"`);
  }
  const count = (variable: string, fallback: number, max: number): number => {
    const text = env[variable];
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > max) {
      problems.push(`${variable} must be an integer 1–${max}, got "${text}"`);
      return fallback;
    }
    return n;
  };
  return Object.freeze({
    trustProxy,
    loginPerIp: count('WECOM_ARCHIVE_LOGIN_PER_IP', 30, 100_000),
    loginPerUsername: count('WECOM_ARCHIVE_LOGIN_PER_USERNAME', 10, 100_000),
    loginWindowS: count('WECOM_ARCHIVE_LOGIN_WINDOW_S', 60, 86_400),
  });
}

/**
 * Callback and directory settings: WECOM_ARCHIVE_CALLBACK_MAX_AGE_S (default 600, 0 = off),
 * WECOM_ARCHIVE_CALLBACK_IP_CHECK (off | enforce), WECOM_ARCHIVE_TRUSTED_PROXIES (comma-separated
 * IPs/CIDRs), WECOM_ARCHIVE_DIRECTORY_SYNC_S (default 21600).
 */
function callbackConfig(env: Readonly<Record<string, string | undefined>>, problems: string[]): CallbackConfig {
  const seconds = (variable: string, fallback: number, min: number, max: number, what: string): number => {
    const text = env[variable];
    if (text === undefined || text === '') return fallback;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      problems.push(`${variable} must be ${what} ${min}–${max}, got "${text}"`);
      return fallback;
    }
    return n;
  };
  const maxAgeS = seconds('WECOM_ARCHIVE_CALLBACK_MAX_AGE_S', 600, 0, 30 * 86_400, 'a number of seconds (0 turns the check off)');
  const directorySyncIntervalS = seconds('WECOM_ARCHIVE_DIRECTORY_SYNC_S', 6 * 3600, 60, 30 * 86_400, 'a number of seconds');
  const ipCheckText = env.WECOM_ARCHIVE_CALLBACK_IP_CHECK || 'off';
  if (ipCheckText !== 'off' && ipCheckText !== 'enforce') problems.push(`WECOM_ARCHIVE_CALLBACK_IP_CHECK must be off or enforce, got "${ipCheckText}"`);
  const trustedProxies: string[] = [];
  for (const entry of (env.WECOM_ARCHIVE_TRUSTED_PROXIES ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [base = '', bits] = entry.split('/');
    const family = isIP(base);
    if (family === 0 || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)))) {
      problems.push(`WECOM_ARCHIVE_TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR (e.g. 10.0.0.0/8)`);
    } else trustedProxies.push(entry);
  }
  return Object.freeze({ maxAgeS, ipCheck: ipCheckText === 'enforce' ? 'enforce' : 'off', trustedProxies: Object.freeze(trustedProxies), directorySyncIntervalS });
}

/**
 * Media settings: `--media-store` is a directory (`/srv/media`, `file:/srv/media`) or an S3 bucket
 * `s3://BUCKET[/PREFIX]?endpoint=URL&region=R` whose credentials come from the environment
 * (WECOM_ARCHIVE_S3_ACCESS_KEY_ID / WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY, or the AWS_* names).
 */
function mediaConfig(pick: Pick, env: Readonly<Record<string, string | undefined>>, dataDir: string, cwd: string, problems: string[]): MediaConfig {
  const count = (flag: Exclude<keyof GlobalFlags, 'trust-proxy'>, variable: string, fallback: number, min: number, max: number): number => {
    const s = pick(flag, variable);
    if (!s) return fallback;
    const n = Number(s.value);
    if (!/^\d+$/.test(s.value) || n < min || n > max) {
      problems.push(`${s.from} must be an integer ${min}–${max}, got ${JSON.stringify(s.value)}`);
      return fallback;
    }
    return n;
  };
  const concurrency = count('media-concurrency', 'WECOM_ARCHIVE_MEDIA_CONCURRENCY', 6, 0, 64);
  const corpConcurrency = count('media-corp-concurrency', 'WECOM_ARCHIVE_MEDIA_CORP_CONCURRENCY', 3, 1, 64);

  let store: MediaStoreConfig = { kind: 'local', dir: join(dataDir, 'media') };
  let partialDir = join(dataDir, 'media', '.partial');
  const storeSetting = pick('media-store', 'WECOM_ARCHIVE_MEDIA_STORE');
  if (storeSetting) {
    const v = storeSetting.value.trim();
    if (v.startsWith('s3://')) {
      let url: URL | undefined;
      try {
        url = new URL(v);
      } catch {
        problems.push(`${storeSetting.from} is not a valid s3:// URL`);
      }
      if (url) {
        const bucket = url.hostname;
        const prefix = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
        const endpoint = url.searchParams.get('endpoint') ?? `https://s3.${url.searchParams.get('region') ?? 'us-east-1'}.amazonaws.com`;
        const region = url.searchParams.get('region') ?? 'us-east-1';
        const accessKeyId = env.WECOM_ARCHIVE_S3_ACCESS_KEY_ID || env.AWS_ACCESS_KEY_ID || '';
        const secretAccessKey = env.WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY || env.AWS_SECRET_ACCESS_KEY || '';
        if (url.username || url.password)
          problems.push(`${storeSetting.from}: put S3 credentials in WECOM_ARCHIVE_S3_ACCESS_KEY_ID / WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY, not in the URL`);
        if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`${storeSetting.from}: "${bucket}" is not a valid bucket name`);
        if (!/^https?:\/\/[^/]/.test(endpoint)) problems.push(`${storeSetting.from}: endpoint must be an http(s) URL, e.g. ?endpoint=http://127.0.0.1:9000`);
        if (!/^[a-z0-9-]{1,32}$/.test(region)) problems.push(`${storeSetting.from}: region must look like us-east-1`);
        if (/[\u0000-\u001f\\]|\.\./.test(prefix)) problems.push(`${storeSetting.from}: the key prefix may not contain control characters, backslashes or ".."`);
        if (!accessKeyId || !secretAccessKey)
          problems.push(
            `${storeSetting.from} needs credentials: set WECOM_ARCHIVE_S3_ACCESS_KEY_ID and WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)`,
          );
        store = {
          kind: 's3',
          endpoint,
          bucket,
          region,
          prefix: prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix,
          accessKeyId,
          secretAccessKey,
          sessionToken: env.WECOM_ARCHIVE_S3_SESSION_TOKEN || env.AWS_SESSION_TOKEN || undefined,
        };
        partialDir = join(dataDir, 'media-partial');
      }
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v) && !v.startsWith('file:')) {
      problems.push(`${storeSetting.from} must be a directory or s3://BUCKET?endpoint=URL, got "${v.split(':')[0]}:…"`);
    } else {
      const path = v.replace(/^file:(\/\/(?=\/))?/, '');
      if (!path) problems.push(`${storeSetting.from} is empty`);
      else {
        const dir = resolve(cwd, path);
        store = { kind: 'local', dir };
        partialDir = join(dir, '.partial');
      }
    }
  }

  const ffmpegSetting = pick('ffmpeg', 'WECOM_ARCHIVE_FFMPEG');
  let ffmpeg: string | null = null;
  if (!ffmpegSetting || ffmpegSetting.value === 'auto') ffmpeg = findExecutable('ffmpeg', env.PATH ?? '');
  else if (ffmpegSetting.value !== 'off') {
    const path = resolve(cwd, ffmpegSetting.value);
    if (isExecutable(path)) ffmpeg = path;
    else problems.push(`${ffmpegSetting.from}: ${path} is not an executable (give a path to ffmpeg, "auto" or "off")`);
  }
  return Object.freeze({ store: Object.freeze(store), partialDir, concurrency, corpConcurrency, ffmpeg });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findExecutable(name: string, pathVar: string): string | null {
  for (const dir of pathVar.split(delimiter)) {
    if (dir && isAbsolute(dir) && isExecutable(join(dir, name))) return join(dir, name);
  }
  return null;
}
