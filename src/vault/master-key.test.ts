import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.ts';
import { loadMasterKey } from './master-key.ts';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'master-key-test-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadMasterKey from WECOM_ARCHIVE_MASTER_KEY', () => {
  it('accepts 64 hex characters (either case) and base64 of 32 bytes, with surrounding whitespace', () => {
    const key = randomBytes(32);
    const dataDir = join(root, 'data');
    for (const value of [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64'), ` ${key.toString('hex')}\n`]) {
      expect(loadMasterKey({ envValue: value, dataDir })).toEqual({ key, source: 'env', created: false });
    }
  });

  it('never touches the data directory when the variable is set', () => {
    const dataDir = join(root, 'data');
    loadMasterKey({ envValue: randomBytes(32).toString('hex'), dataDir });
    expect(() => statSync(dataDir)).toThrow(/ENOENT/);
  });

  it.each([
    ['63 hex characters', randomBytes(32).toString('hex').slice(1)],
    ['hex of 16 bytes', randomBytes(16).toString('hex')],
    ['base64 of 24 bytes', randomBytes(24).toString('base64')],
    ['base64 without padding', randomBytes(32).toString('base64').replace(/=$/, '')],
    ['a passphrase', 'correct horse battery staple but longer than sixty-four characters!!'],
    ['an empty value', ''],
  ])('rejects %s, naming the variable and the accepted forms without echoing the value', (_name, value) => {
    const err = configError(() => loadMasterKey({ envValue: value, dataDir: root }));
    expect(err.message).toContain('WECOM_ARCHIVE_MASTER_KEY');
    expect(err.message).toContain('64 hex characters or base64 of exactly 32 bytes');
    if (value !== '') expect(err.message).not.toContain(value);
  });

  it('says an empty value is empty rather than silently using the key file', () => {
    expect(configError(() => loadMasterKey({ envValue: '  ', dataDir: root })).message).toMatch(/is set but empty; .* Unset it/);
  });
});

describe('loadMasterKey from <dataDir>/master.key', () => {
  it('creates the data directory and a 0600 key file on first start, then reads the same key', () => {
    const dataDir = join(root, 'nested', 'data');
    const first = loadMasterKey({ envValue: undefined, dataDir });
    const path = join(dataDir, 'master.key');
    expect(first).toMatchObject({ source: 'file', path, created: true });
    expect(first.key.length).toBe(32);
    expect(readFileSync(path, 'utf8')).toBe(`${first.key.toString('hex')}\n`);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);

    const second = loadMasterKey({ envValue: undefined, dataDir });
    expect(second).toEqual({ key: first.key, source: 'file', path, created: false });
  });

  it('does not create a key file when told the database already holds sealed secrets', () => {
    const err = configError(() => loadMasterKey({ envValue: undefined, dataDir: root, mayCreate: false }));
    expect(err.message).toMatch(/master\.key does not exist, but the database holds secrets sealed with a master key\. Restore master\.key from backup/);
    expect(() => statSync(join(root, 'master.key'))).toThrow(/ENOENT/);
  });

  it('gives different data directories different keys', () => {
    const a = loadMasterKey({ envValue: undefined, dataDir: join(root, 'a') });
    const b = loadMasterKey({ envValue: undefined, dataDir: join(root, 'b') });
    expect(a.key.equals(b.key)).toBe(false);
  });

  it('reads a file written by hand in hex or base64', () => {
    const key = randomBytes(32);
    const path = join(root, 'master.key');
    writeFileSync(path, `  ${key.toString('base64')}\r\n`, { mode: 0o600 });
    expect(loadMasterKey({ envValue: undefined, dataDir: root })).toEqual({ key, source: 'file', path, created: false });
  });

  it.skipIf(process.platform === 'win32')('refuses a key file other users can read, and says to chmod 600', () => {
    loadMasterKey({ envValue: undefined, dataDir: root });
    const path = join(root, 'master.key');
    for (const mode of [0o644, 0o640, 0o604, 0o660]) {
      chmodSync(path, mode);
      const err = configError(() => loadMasterKey({ envValue: undefined, dataDir: root }));
      expect(err.message).toContain(`chmod 600 ${path}`);
      expect(err.message).toContain(`mode ${mode.toString(8)}`);
    }
    chmodSync(path, 0o400);
    expect(loadMasterKey({ envValue: undefined, dataDir: root }).created).toBe(false);
  });

  it('refuses a damaged key file without printing its content or replacing it', () => {
    const path = join(root, 'master.key');
    const content = `${randomBytes(31).toString('hex')}\n`;
    writeFileSync(path, content, { mode: 0o600 });
    const err = configError(() => loadMasterKey({ envValue: undefined, dataDir: root }));
    expect(err.message).toContain(`${path} does not hold a valid key`);
    expect(err.message).toContain('Restore it from backup');
    expect(err.message).not.toContain(content.trim());
    expect(readFileSync(path, 'utf8')).toBe(content);
  });

  it('reports a key path that is a directory as a config error', () => {
    mkdirSync(join(root, 'master.key'), { mode: 0o700 });
    expect(configError(() => loadMasterKey({ envValue: undefined, dataDir: root })).message).toContain('Cannot read the master key file');
  });

  it('waits for a key file another process has created but not yet written', () => {
    const key = randomBytes(32);
    const path = join(root, 'master.key');
    writeFileSync(path, '', { mode: 0o600 });
    // The writer runs in its own process, so it proceeds while loadMasterKey blocks this one.
    const writer = spawn('sh', ['-c', `sleep 0.3; printf '%s\\n' ${key.toString('hex')} > '${path}'`], { stdio: 'ignore' });
    try {
      expect(loadMasterKey({ envValue: undefined, dataDir: root })).toEqual({ key, source: 'file', path, created: false });
    } finally {
      writer.kill();
    }
  });

  it('refuses a key file that stays empty, explaining what to do', () => {
    writeFileSync(join(root, 'master.key'), '\n', { mode: 0o600 });
    const err = configError(() => loadMasterKey({ envValue: undefined, dataDir: root }));
    expect(err.message).toMatch(/is empty, .* delete the file and start again; otherwise restore it from backup/);
  });

  it('lets concurrent first starts agree on one key', async () => {
    const dataDir = join(root, 'race');
    // Every child loads the module, then spins until the same instant, so their creates overlap.
    const startAt = Date.now() + 2500;
    const script = `
      import { loadMasterKey } from ${JSON.stringify(new URL('./master-key.ts', import.meta.url).href)};
      while (Date.now() < ${startAt}) {}
      const r = loadMasterKey({ envValue: undefined, dataDir: ${JSON.stringify(dataDir)} });
      process.stdout.write(JSON.stringify({ key: r.key.toString('hex'), created: r.created }));
    `;
    const runs = Array.from(
      { length: 6 },
      () =>
        new Promise<{ key: string; created: boolean }>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let errOut = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          child.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
          child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { key: string; created: boolean }) : reject(new Error(errOut))));
        }),
    );
    const results = await Promise.all(runs);
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    expect(results.filter((r) => r.created).length).toBe(1);
    expect(readFileSync(join(dataDir, 'master.key'), 'utf8').trim()).toBe(results[0]?.key);
  }, 30_000);
});
