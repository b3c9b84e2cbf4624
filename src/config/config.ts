import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from '../errors/errors.ts';

/** Settings every command shares, parsed once at start (style.md: nothing else reads process.env). */
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
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Global flags, as given on the command line (they win over the environment). */
export interface GlobalFlags {
  db?: string | undefined;
  'data-dir'?: string | undefined;
  port?: string | undefined;
  'log-level'?: string | undefined;
}

export const GLOBAL_OPTIONS = {
  db: { type: 'string' },
  'data-dir': { type: 'string' },
  port: { type: 'string' },
  'log-level': { type: 'string' },
} as const;

/**
 * Builds the frozen Config from flags and environment. Every bad setting is reported at once,
 * each naming the flag or variable it came from.
 */
export function loadConfig(flags: GlobalFlags, env: Readonly<Record<string, string | undefined>>, cwd: string): Config {
  const problems: string[] = [];
  const pick = (flag: keyof GlobalFlags, variable: string): { value: string; from: string } | undefined => {
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
    if (v.startsWith('sqlite:')) {
      const path = v.slice('sqlite:'.length);
      if (!path) problems.push(`${dbSetting.from}: sqlite: needs a file path, e.g. sqlite:./data/archive.db`);
      else dbUrl = `sqlite:${isAbsolute(path) || path === ':memory:' ? path : resolve(cwd, path)}`;
    } else if (/^(postgres(ql)?|mysql|mariadb):\/\/[^/]/.test(v)) {
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

  if (problems.length > 0) throw new ConfigError(`invalid settings:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze({ dataDir, dbUrl, masterKey, port, logLevel });
}
