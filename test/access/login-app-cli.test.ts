/**
 * `corp login-app` through main(), on every database: the app's Secret read from standard input
 * and sealed (never printed, never stored as given), its settings listed, bad settings refused with
 * what is wrong, each change audited, and the app removed again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/cli-runner.ts';
import { describeEachDialect } from '../support/databases.ts';

const CORP = 'wwlogin00000000001';
const SECRET = 'LoginAppSecret0123456789abcdefghijklmnopqrs';

describeEachDialect('corp login-app', ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-login-app-'));
  const env = { WECOM_ARCHIVE_MASTER_KEY: '06'.repeat(32), WECOM_ARCHIVE_LOG_LEVEL: 'warn', WECOM_ARCHIVE_DATA_DIR: dir };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('sets the app with a sealed Secret, lists it, refuses bad settings, audits changes and removes it', async () => {
    const dbUrl = await url();
    const cli = (args: string[], stdin?: string) => runCli(['--db', dbUrl, ...args], { cwd: dir, env, ...(stdin === undefined ? {} : { stdin }) });
    const set = ['corp', 'login-app', 'set', '--corp', CORP, '--agentid', '1000002', '--secret', '-'];

    expect((await cli([...set, '--public-url', 'https://archive.example.com'], SECRET)).code).toBe(3); // no such corp yet
    expect((await cli(['corp', 'add', '--corpid', CORP, '--secret', '-', '--sdk', 'simulator:http://127.0.0.1:9'], 'archive-secret')).code).toBe(0);

    const done = await cli([...set, '--public-url', 'https://archive.example.com/', '--name', '示例公司'], `${SECRET}\n`);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/trusted domain \(可信域名\) to archive\.example\.com; redirect_uri is https:\/\/archive\.example\.com\/api\/session\/wecom\/callback/);

    const listed = await cli(['corp', 'login-app', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([
      {
        corpid: CORP,
        agentid: '1000002',
        name: '示例公司',
        publicUrl: 'https://archive.example.com',
        // a simulator corp's authorize pages are the simulator's
        authorize: { oauth: 'http://127.0.0.1:9', sso: 'http://127.0.0.1:9' },
        authorizeIsDefault: true,
      },
    ]);
    for (const out of [done.stdout, listed.stdout, (await cli(['corp', 'login-app', 'list'])).stdout]) expect(out).not.toContain(SECRET);

    for (const [args, message] of [
      [['--public-url', 'https://archive.example.com/archive'], /--public-url must be scheme and host only/],
      [['--public-url', 'ftp://archive.example.com'], /--public-url must be scheme and host only/],
      [['--public-url', 'https://archive.example.com', '--authorize-base', 'https://gw.example.com/?token=x'], /--authorize-base must be http\(s\) without query/],
    ] as const) {
      const refused = await cli([...set, ...args], SECRET);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr).toMatch(message);
      expect(refused.stderr).not.toContain('token=x');
    }
    const badAgent = await cli(['corp', 'login-app', 'set', '--corp', CORP, '--agentid', 'app1', '--secret', '-', '--public-url', 'https://a.example.com'], SECRET);
    expect(badAgent).toMatchObject({ code: 2, stderr: expect.stringMatching(/--agentid must be the app's AgentId/) });

    const store = await openStore(dbUrl);
    try {
      const row = await store.db.selectFrom('wecom_login_apps').selectAll().executeTakeFirstOrThrow();
      expect(row.secret_sealed).toMatch(/^v1:/);
      expect(row.secret_sealed).not.toContain(SECRET);
      expect((await cli(['corp', 'login-app', 'remove', '--corp', CORP])).code).toBe(0);
      expect((await cli(['corp', 'login-app', 'remove', '--corp', CORP])).code).toBe(3);
      expect((await cli(['corp', 'login-app', 'list'])).stdout).toMatch(/no corp offers sign in with WeCom/);
      const audit = await store.db.selectFrom('audit_log').select(['action', 'corpid', 'query']).where('action', 'like', 'login_app.%').orderBy('id').execute();
      expect(audit.map((r) => [r.action, r.corpid])).toEqual([
        ['login_app.set', CORP],
        ['login_app.remove', CORP],
      ]);
      expect(audit[0]!.query).not.toContain(SECRET);
    } finally {
      await store.close();
    }
  });
});
