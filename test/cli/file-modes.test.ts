/**
 * Files the archive creates hold decrypted chats: the SQLite database (and its -wal/-shm files) are
 * 0600, directories it creates 0700; a data directory that can never exist is refused at start.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { openStore } from '../../src/store/open-store.ts';

const BIN = new URL('../../bin/wecom-archive', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'wa-modes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8);

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(args, {
    out: () => undefined,
    err: (line) => void (stderr += `${line}\n`),
    stdout: new PassThrough(),
    cwd: dir,
    env: { WECOM_ARCHIVE_MASTER_KEY: '07'.repeat(32), WECOM_ARCHIVE_LOG_LEVEL: 'warn', ...env },
    signal: new AbortController().signal,
  });
  return { code, stderr };
}

describe('file modes on SQLite', () => {
  it('creates the data directory 0700 and the database with its -wal and -shm files 0600', async () => {
    const dataDir = join(dir, 'fresh', 'data');
    const r = await cli(['corp', 'list'], { WECOM_ARCHIVE_DATA_DIR: dataDir });
    expect(r.code, r.stderr).toBe(0);
    expect(modeOf(join(dir, 'fresh'))).toBe('700');
    expect(modeOf(dataDir)).toBe('700');
    expect(modeOf(join(dataDir, 'archive.db'))).toBe('600');
    // -wal and -shm exist while the database is open
    const store = await openStore(`sqlite:${join(dataDir, 'archive.db')}`);
    try {
      await sql`create table t (x integer)`.execute(store.db);
      const files = readdirSync(dataDir).filter((f) => f.startsWith('archive.db'));
      expect(files.sort()).toEqual(['archive.db', 'archive.db-shm', 'archive.db-wal']);
      for (const f of files) expect(modeOf(join(dataDir, f)), f).toBe('600');
    } finally {
      await store.close();
    }
  });

  it('creates the directories of --db sqlite:PATH 0700, and leaves an existing one as it is', async () => {
    const chosen = join(dir, 'chosen');
    mkdirSync(chosen);
    chmodSync(chosen, 0o755);
    const db = join(chosen, 'new', 'dir', 'x.db');
    const r = await cli(['corp', 'list', '--db', `sqlite:${db}`], { WECOM_ARCHIVE_DATA_DIR: join(dir, 'data2') });
    expect(r.code, r.stderr).toBe(0);
    expect(modeOf(chosen)).toBe('755');
    expect(modeOf(join(chosen, 'new'))).toBe('700');
    expect(modeOf(join(chosen, 'new', 'dir'))).toBe('700');
    expect(modeOf(db)).toBe('600');
  });

  it('refuses a database directory below a file, naming it, without a stack trace', async () => {
    const r = await cli(['corp', 'list', '--db', `sqlite:/dev/null/x/a.db`], { WECOM_ARCHIVE_DATA_DIR: join(dir, 'data3') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/dev/null is not a directory');
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });
});

describe('a data directory that can never exist', () => {
  it('is refused at start with a message naming it (it used to spin in mkdir under /proc)', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, WECOM_ARCHIVE_DATA_DIR: '/proc/nope' };
    delete env.WECOM_ARCHIVE_DB;
    delete env.WECOM_ARCHIVE_MASTER_KEY;
    const child = spawn(BIN, ['status'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
    // a process still running after 30 s is stuck: kill it, so the test fails instead of hanging
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    expect(signal, 'the process had to be killed').toBeNull();
    expect(code, stderr).toBe(2);
    expect(stderr).toContain('WECOM_ARCHIVE_DATA_DIR: cannot use /proc/nope: it is under /proc');
    expect(existsSync('/proc/nope')).toBe(false);
  }, 40_000);
});
