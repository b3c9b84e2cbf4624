import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { messageTypes } from '../../src/simulator/core/message-types.ts';

const BIN = new URL('../../bin/wecom-archive', import.meta.url).pathname;
const run = promisify(execFile);

/** The README's walk-through, through the real CLI: simulator → corp import → run --once → status → export. */
describe('command line, end to end on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-cli-'));
  const env: NodeJS.ProcessEnv = { ...process.env, WECOM_ARCHIVE_DATA_DIR: join(dir, 'data'), WECOM_ARCHIVE_LOG_LEVEL: 'warn' };
  delete env.WECOM_ARCHIVE_DB;
  delete env.WECOM_ARCHIVE_MASTER_KEY;
  const cli = (...args: string[]) => run(BIN, args, { env, maxBuffer: 64 << 20 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("archives every message type of a simulated corp with the written config's keys, and exports it", async () => {
    const config = join(dir, 'sim.json');
    const sim = spawn(
      BIN,
      ['simulator', '--port', '0', '--messages', '2500', '--seed', 'cli-e2e', '--key-schedule', '1:0,2:1200', '--seq-start', '9007199254740000', '--write-config', config],
      { env, stdio: 'ignore' },
    );
    try {
      for (let i = 0; !existsSync(config); i++) {
        if (i > 300) throw new Error('simulator did not start');
        await new Promise((r) => setTimeout(r, 100));
      }
      const secret = JSON.parse(readFileSync(config, 'utf8')).corps[0].secret as string;
      expect((await cli('corp', 'import', config)).stdout).toMatch(
        /imported with key versions 1,2, the contacts secret, the customer contact secret, callback apps contacts,customer,archive/,
      );
      const corps = JSON.parse((await cli('corp', 'list', '--json')).stdout);
      expect(corps).toHaveLength(1);
      expect(JSON.stringify(corps)).not.toContain(secret);
      // the directory can sync and callbacks can be received with no more setup
      const corpid = corps[0].corpid as string;
      expect(JSON.parse((await cli('corp', 'secrets', '--corp', corpid, '--json')).stdout)).toMatchObject({ hasContactsSecret: true, hasCustomerSecret: true });
      const apps = JSON.parse((await cli('corp', 'callback', 'list', '--corp', corpid, '--json')).stdout) as Array<{ app: string }>;
      expect(apps.map((a) => a.app).sort()).toEqual(['archive', 'contacts', 'customer']);
      expect(JSON.stringify(apps)).not.toMatch(/token|aesKey/i);
      const keys = JSON.parse((await cli('keys', 'list', '--json')).stdout);
      expect(keys.map((k: { version: number }) => k.version)).toEqual([1, 2]);
      expect(JSON.stringify(keys)).not.toMatch(/PRIVATE|MII/);

      await cli('run', '--once');
      const status = JSON.parse((await cli('status', '--json')).stdout).corps[0];
      expect(status).toMatchObject({ messages: 2500, pending: 0, waiting: [], unknownTypes: 0, cursorSeq: String(9007199254740000n + 2499n) });

      const out = join(dir, 'export.jsonl');
      const exported = await cli('export', '--corp', corps[0].corpid, '--format', 'jsonl', '--out', out);
      expect(exported.stderr).toMatch(/exported 2500 messages/);
      const lines = readFileSync(out, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(2500);
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 2500 }, (_, i) => String(9007199254740000n + BigInt(i))));
      const seen = new Set(lines.map((l) => (l.action === 'switch' ? 'switch' : l.msgtype)));
      for (const type of messageTypes) expect(seen, type).toContain(type);

      // Nothing secret is readable in the data directory's database files.
      const data = join(dir, 'data');
      const bytes = Buffer.concat(
        readdirSync(data)
          .filter((f) => f.startsWith('archive.db'))
          .map((f) => readFileSync(join(data, f))),
      );
      expect(bytes.includes(Buffer.from(secret))).toBe(false);

      // `run` keeps archiving until SIGTERM, then stops cleanly (exit 0) and says so.
      const runner = spawn(BIN, ['run', '--port', '0', '--poll-interval', '0.2'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      runner.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = new Promise<number | null>((resolve) => runner.on('exit', resolve));
      for (let i = 0; !stderr.includes('listening on'); i++) {
        if (i > 200) throw new Error(`run did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      runner.kill('SIGTERM');
      expect(await exited, stderr).toBe(0);
      expect(stderr).toContain('SIGTERM: stopping');
    } finally {
      sim.kill('SIGTERM');
    }
  }, 180_000);

  it('refuses bad input with a clear message and a usage exit code', async () => {
    const fail = async (args: string[], pattern: RegExp, code = 2) => {
      const error = await cli(...args).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(error, args.join(' ')).toBeDefined();
      expect(error!.code).toBe(code);
      expect(error!.stderr).toMatch(pattern);
    };
    await fail(['corp', 'add', '--corpid', 'ww1', '--secret', 's', '--sdk', 'ftp://x'], /--sdk must be simulator:URL or native:PATH/);
    await fail(['corp', 'add', '--corpid', 'ww1', '--secret', 's', '--sdk', 'simulator:http://127.0.0.1:1', '--limit', '5000'], /--limit must be an integer 1–1000/);
    await fail(['keys', 'add', '--corp', 'ww1', '--version', '1', '--file', '/nonexistent.pem'], /cannot read \/nonexistent.pem/);
    await fail(['export', '--corp', 'ww1', '--format', 'csv'], /--format csv is not supported/);
    await fail(['run', '--db', 'oracle://x'], /--db must be sqlite:PATH/);
    await fail(['nonsense'], /unknown command/);
    // a listing narrowed to a corp the archive does not know says so, not "none"
    for (const list of [
      ['keys', 'list'],
      ['sinks', 'list'],
      ['corp', 'callback', 'list'],
      ['callback', 'events'],
      ['callback', 'replay'],
    ]) {
      await fail([...list, '--corp', 'wwNOPE'], /corp wwNOPE is unknown: it is not configured and nothing of it is archived/, 3);
    }
  });
});
