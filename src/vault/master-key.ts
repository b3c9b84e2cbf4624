/**
 * The archive master key: the 32-byte AES key that seals stored secrets (see secret-box.ts).
 * It comes from WECOM_ARCHIVE_MASTER_KEY when set (the caller passes the value in; nothing here
 * reads process.env), otherwise from `<dataDir>/master.key`, created on first start.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors/errors.ts';

const ENV_NAME = 'WECOM_ARCHIVE_MASTER_KEY';
const KEY_BYTES = 32;
const KEY_FILE = 'master.key';
const ACCEPTED_FORMS = `64 hex characters or base64 of exactly ${KEY_BYTES} bytes (make one with \`openssl rand -hex 32\`)`;

/** How long a process that lost the creation race waits for the winner to finish writing the file. */
const RACE_WAIT_MS = 1000;
const RACE_POLL_MS = 20;

export interface MasterKey {
  key: Buffer;
  source: 'env' | 'file';
  path?: string;
  /** True only when this call created the key file. */
  created: boolean;
}

/**
 * Loads the master key. With `envValue` set it must be 64 hex chars or base64 of 32 bytes
 * (ConfigError otherwise; the value is never echoed). Without it, reads `<dataDir>/master.key`,
 * creating it (mode 0600, exclusive create) on first use unless `mayCreate` is false (the database
 * already holds sealed secrets), and refuses a file group or others can read.
 */
export function loadMasterKey(opts: { envValue: string | undefined; dataDir: string; mayCreate?: boolean }): MasterKey {
  if (opts.envValue !== undefined) {
    const key = parseKeyText(opts.envValue);
    if (key === undefined) {
      // An empty value usually means a compose/systemd variable that did not expand. Falling back
      // to the key file would seal secrets under a key the operator does not know they are using.
      const what = opts.envValue.trim() === '' ? 'is set but empty' : 'is not a valid master key';
      throw new ConfigError(`${ENV_NAME} ${what}; it must be ${ACCEPTED_FORMS}. Unset it to use ${join(opts.dataDir, KEY_FILE)} instead.`);
    }
    return { key, source: 'env', created: false };
  }

  const path = join(opts.dataDir, KEY_FILE);
  const existing = readKeyFile(path);
  if (Buffer.isBuffer(existing)) return { key: existing, source: 'file', path, created: false };

  if (existing === 'missing') {
    if (opts.mayCreate === false) {
      // A new key would seal new secrets under a key that opens none of the stored ones.
      throw new ConfigError(
        `The master key file ${path} does not exist, but the database holds secrets sealed with a master key. ` +
          `Restore master.key from backup into ${opts.dataDir} (mode 0600), or set ${ENV_NAME} to the key; a new key cannot open them.`,
      );
    }
    const created = createKeyFile(opts.dataDir, path);
    if (created !== undefined) return { key: created, source: 'file', path, created: true };
  }
  // Another process created the file first (it may still be writing it): use its key, not ours.
  return { key: readKeyFileWhenComplete(path), source: 'file', path, created: false };
}

/** Accepts 64 hex characters or canonical base64 of 32 bytes, surrounding whitespace ignored. */
function parseKeyText(text: string): Buffer | undefined {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(value)) {
    const key = Buffer.from(value, 'base64');
    if (key.length === KEY_BYTES && key.toString('base64') === value) return key;
  }
  return undefined;
}

/**
 * The key in the file; 'missing' if there is no file; 'empty' if it exists but holds nothing yet (a
 * concurrent first start between its create and its write). Throws ConfigError for an unsafe or bad file.
 */
function readKeyFile(path: string): Buffer | 'missing' | 'empty' {
  let content: string;
  try {
    checkPermissions(path);
    content = readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 'missing';
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Cannot read the master key file ${path}: ${(err as Error).message}. Check that it is a readable file.`, {
      cause: err,
    });
  }
  if (content.trim() === '') return 'empty';
  const key = parseKeyText(content);
  if (key === undefined) {
    throw new ConfigError(
      `The master key file ${path} does not hold a valid key (${ACCEPTED_FORMS}). Restore it from backup; ` + 'a new key cannot open the secrets already stored.',
    );
  }
  return key;
}

function checkPermissions(path: string): void {
  // POSIX modes mean nothing on Windows, where access is governed by ACLs.
  if (process.platform === 'win32') return;
  const { mode } = statSync(path);
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `The master key file ${path} is accessible to other users (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); ` + `run \`chmod 600 ${path}\` and start again.`,
    );
  }
}

/**
 * Creates the key file with an exclusive create, so of two processes starting at once exactly one
 * writes a key. Returns undefined if the file already exists.
 */
function createKeyFile(dataDir: string, path: string): Buffer | undefined {
  const key = randomBytes(KEY_BYTES);
  let fd: number;
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return undefined;
    throw new ConfigError(`Cannot create the master key file ${path}: ${(err as Error).message}. Check that the data directory is writable.`, {
      cause: err,
    });
  }
  try {
    // One write of the whole line, then fsync: a crash must not leave a key we used but never stored.
    writeSync(fd, `${key.toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

/** The winner of a creation race may not have written its key yet; wait briefly for a complete file. */
function readKeyFileWhenComplete(path: string): Buffer {
  const deadline = Date.now() + RACE_WAIT_MS;
  for (;;) {
    const state = readKeyFile(path);
    if (Buffer.isBuffer(state)) return state;
    if (Date.now() >= deadline) {
      throw new ConfigError(
        state === 'missing'
          ? `The master key file ${path} disappeared while starting; start again.`
          : `The master key file ${path} is empty, probably left by an interrupted first start (a key is only used once ` +
              'it is written). If no secrets have been stored yet, delete the file and start again; otherwise restore it from backup.',
      );
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, RACE_POLL_MS);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
