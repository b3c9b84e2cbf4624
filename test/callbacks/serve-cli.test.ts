/**
 * The README's callback walk-through through the real CLI: corp add → corp secrets → corp callback
 * add → run --once (in this process, through main()) → serve (the real bin, its own process) → WeCom (the simulator) verifies the URL and sends signed events →
 * status and export show them. Secrets never appear in output or in the database file.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli-runner.ts';
import { signedVerification } from '../../src/simulator/callbacks/callback-sender.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { eventually, rawRequest } from './harness.ts';

const BIN = new URL('../../bin/wecom-archive', import.meta.url).pathname;

describe('serve, end to end through the CLI on SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-serve-'));
  const env: NodeJS.ProcessEnv = { ...process.env, WECOM_ARCHIVE_DATA_DIR: join(dir, 'data'), WECOM_ARCHIVE_LOG_LEVEL: 'warn', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' };
  delete env.WECOM_ARCHIVE_DB;
  delete env.WECOM_ARCHIVE_MASTER_KEY;
  /** One CLI command in this process (main() as bin/wecom-archive runs it); rejects on a non-zero exit. */
  const cli = async (...args: string[]): Promise<{ stdout: string; stderr: string }> => {
    const { code, stdout, stderr } = await runCli(args, { cwd: dir, env });
    if (code !== 0) throw Object.assign(new Error(`exit ${code}: ${stderr}`), { stdout, stderr, code });
    return { stdout, stderr };
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verifies the URL, takes signed events, and shows them in status and the export', async () => {
    const sim = await startSimulator({ messages: 150, seed: 'serve-cli' });
    const corpid = sim.corp.corpid;
    try {
      await cli('corp', 'add', '--corpid', corpid, '--secret', sim.corp.secret, '--sdk', `simulator:${sim.url}`);
      for (const [version, pem] of sim.privateKeyPems) {
        const file = join(dir, `key${version}.pem`);
        writeFileSync(file, pem, { mode: 0o600 });
        await cli('keys', 'add', '--corp', corpid, '--version', String(version), '--file', file);
      }
      const secrets = await cli('corp', 'secrets', '--corp', corpid, '--contacts-secret', sim.api.secrets.contacts, '--customer-secret', sim.api.secrets.customer);
      expect(secrets.stdout).toMatch(new RegExp(`API base ${sim.url.replace(/[.]/g, '\\.')} \\(default\\); contacts secret set; customer contact secret set`));
      for (const c of Object.values(sim.api.callbackApps)) {
        const added = await cli('corp', 'callback', 'add', '--corp', corpid, '--app', c.app, '--token', c.token, '--aes-key', c.encodingAesKey);
        expect(added.stdout).toContain(`/callback/${corpid}/${c.app}`);
      }
      const listed = (await cli('corp', 'callback', 'list', '--corp', corpid)).stdout;
      expect(listed.split('\n').filter(Boolean)).toHaveLength(3);
      for (const c of Object.values(sim.api.callbackApps)) {
        expect(listed).not.toContain(c.token);
        expect(listed).not.toContain(c.encodingAesKey);
      }
      expect((await cli('corp', 'callback', 'add', '--corp', corpid, '--app', 'bad', '--token', 'x', '--aes-key', 'short').catch((e: { stderr: string }) => e)).stderr).toMatch(
        /EncodingAESKey must be exactly 43/,
      );

      await cli('run', '--once');
      const exportLines = async () =>
        (await cli('export', '--corp', corpid, '--format', 'jsonl')).stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l));
      const userid = (await exportLines()).map((l) => l.from as string).find((id) => sim.api.data.members.has(id))!;

      const serve = spawn(BIN, ['serve', '--listen', '127.0.0.1:0'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      serve.stderr!.on('data', (d: Buffer) => void (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => serve.on('exit', resolve));
      try {
        const port = await eventually(async () => /serving WeCom callbacks on http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr)?.[1], 20_000, 'serve to listen');
        const base = `http://127.0.0.1:${port}`;
        sim.api.callbackTarget = `${base}/callback`;

        const v = signedVerification(corpid, sim.api.callbackApps.contacts, Math.floor(Date.now() / 1000));
        expect(await rawRequest(base, 'GET', `/callback/${corpid}/contacts?${v.query}`)).toMatchObject({ status: 200, body: v.echo });

        expect((await sim.api.renameMember(userid, '改名后'))?.status).toBe(200);
        const status = await eventually(
          async () => {
            const s = JSON.parse((await cli('status', '--json')).stdout).corps[0];
            return s.callbacks.done >= 1 &&
              s.directory.members > 0 &&
              s.directory.parts.some((p: { part: string; lastSuccessAt: number | null }) => p.part === 'customer_groups' && p.lastSuccessAt)
              ? s
              : undefined;
          },
          30_000,
          'the event and the first directory sync',
        );
        expect(status.callbacks).toMatchObject({ failed: 0, pending: 0 });
        expect((await cli('status')).stdout).toMatch(/directory: \d+ members, \d+ departments/);
        expect((await cli('callback', 'events', '--corp', corpid)).stdout).toMatch(/change_contact\/update_user {2}done/);
        // nothing failed, so nothing is replayed; the operator's request is in the audit log all the same
        expect((await cli('callback', 'replay', '--corp', corpid)).stdout).toMatch(/no failed events matched/);
        const audit = (await cli('audit', 'export', '--since', '2000-01-01')).stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { action: string; corpid: string | null; items: number | null });
        expect(audit.filter((r) => r.action === 'callbacks.replay')).toMatchObject([{ corpid, items: 0 }]);
      } finally {
        serve.kill('SIGTERM');
        expect(await exited).toBe(0);
      }
      // serve scanned the archived messages for ids and named them: the export carries the names.
      const lines = await exportLines();
      expect(lines).toHaveLength(150);
      const named = lines.filter((l) => l._archive.names.sender !== null).length;
      expect(named).toBeGreaterThan(140);
      const renamed = lines.filter((l) => l.from === userid);
      expect(renamed.length).toBeGreaterThan(0);
      expect(renamed.every((l) => l._archive.names.sender === '改名后')).toBe(true);

      // Nothing secret is readable in the database files.
      const data = join(dir, 'data');
      const bytes = Buffer.concat(
        readdirSync(data)
          .filter((f) => f.startsWith('archive.db'))
          .map((f) => readFileSync(join(data, f))),
      );
      for (const secret of [sim.api.secrets.contacts, sim.api.secrets.customer, ...Object.values(sim.api.callbackApps).flatMap((c) => [c.token, c.encodingAesKey])]) {
        expect(bytes.includes(Buffer.from(secret))).toBe(false);
      }
    } finally {
      await sim.close();
    }
  });
});
