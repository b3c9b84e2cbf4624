/**
 * The access commands end to end through main(), on every database: users add with
 * --password-stdin, list, grant and revoke, disable; tokens create (printed once, usable as a
 * bearer token) and revoke; settings; audit verify and export, with an audit row for every change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, expect, it } from 'vitest';
import { Accounts } from '../../src/access/accounts.ts';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/cli-runner.ts';
import { describeEachDialect } from '../support/databases.ts';

const CORP = 'wwcli0000000000001';

describeEachDialect('access commands', ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-access-cli-'));
  const env = { WECOM_ARCHIVE_MASTER_KEY: '05'.repeat(32), WECOM_ARCHIVE_LOG_LEVEL: 'warn', WECOM_ARCHIVE_DATA_DIR: dir };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let dbUrl: string;
  const cli = (args: string[], stdin?: string) => runCli(['--db', dbUrl, ...args], { cwd: dir, env, ...(stdin === undefined ? {} : { stdin }) });

  it('adds users from standard input, lists them, grants and revokes, and refuses bad input with exit 2', async () => {
    dbUrl = await url();
    const added = await cli(['users', 'add', '--username', 'alice', '--role', 'viewer', '--corp', CORP, '--department', `${CORP}:7`, '--password-stdin'], 'alice password 1\n');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/user alice added \(viewer; 2 grants\)/);
    expect((await cli(['users', 'add', '--username', 'boss', '--role', 'admin', '--wecom-userid', `${CORP}:boss`, '--password-stdin'], 'boss password 12')).code).toBe(0);

    // no password on a pipe without --password-stdin; a short one; a department without its corp
    const noPassword = await cli(['users', 'add', '--username', 'carol', '--role', 'viewer']);
    expect(noPassword).toMatchObject({ code: 2, stderr: expect.stringMatching(/--password-stdin/) });
    expect(await cli(['users', 'add', '--username', 'carol', '--role', 'viewer', '--password-stdin'], 'short')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/at least 10 characters/),
    });
    expect(await cli(['users', 'add', '--username', 'carol', '--role', 'viewer', '--department', '7', '--password-stdin'], 'carol password')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--department takes CORPID:DEPARTMENT_ID/),
    });
    expect((await cli(['users', 'add', '--username', 'carol', '--role', 'boss', '--password-stdin'], 'carol password')).code).toBe(2);

    expect((await cli(['users', 'grant', 'alice', '--conversation', `${CORP}:room:wr42`, '--export'])).stdout).toMatch(/2 grants added to alice/);
    expect((await cli(['users', 'revoke', 'alice', '--corp', CORP])).stdout).toMatch(/1 grant revoked from alice/);
    expect((await cli(['users', 'grant', 'nobody', '--export'])).code).toBe(3);

    const listed = JSON.parse((await cli(['users', 'list', '--json'])).stdout) as Array<{ username: string; grants: string[]; wecom: string | null }>;
    expect(listed.map((u) => [u.username, u.grants, u.wecom])).toEqual([
      ['alice', [`department:${CORP}:7`, `conversation:${CORP}:room:wr42`, 'export'], null],
      ['boss', [], `${CORP}:boss`],
    ]);
    const table = await cli(['users', 'list']);
    expect(table.stdout).toMatch(/^USERNAME\s+ROLE\s+STATE\s+GRANTS\s+WECOM\n/);
    expect(table.stdout).toMatch(/\nboss\s+admin\s+active\s+everything\s+wwcli0000000000001:boss\n/);
    expect(table.stdout).not.toMatch(/password|argon2/);
  });

  it('creates a token shown once that signs a script in, until it is revoked', async () => {
    const created = await cli(['tokens', 'create', '--user', 'alice', '--name', 'nightly', '--expires', '30d']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^wa_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/shown this once/);
    const listed = await cli(['tokens', 'list', '--json']);
    expect(listed.stdout).not.toContain(token.slice(3));
    const [row] = JSON.parse(listed.stdout) as Array<{ id: number; username: string; name: string }>;
    expect(row).toMatchObject({ username: 'alice', name: 'nightly' });

    const store = await openStore(dbUrl);
    try {
      const accounts = new Accounts(store.db);
      expect(await accounts.tokenCaller(token)).toMatchObject({ username: 'alice', via: 'token', mayExport: true });
      expect((await cli(['tokens', 'revoke', String(row!.id)])).code).toBe(0);
      expect(await accounts.tokenCaller(token)).toBeUndefined();
    } finally {
      await store.close();
    }
    expect((await cli(['tokens', 'revoke', '999'])).code).toBe(3);
    expect((await cli(['tokens', 'create', '--user', 'alice', '--name', 'x', '--expires', 'soon'])).code).toBe(2);
  });

  it('changes settings, disables a user, and keeps an audit row of every change that verify and export show', async () => {
    expect((await cli(['settings', 'set', 'require_reason', 'on'])).stdout).toMatch(/require_reason = on/);
    expect((await cli(['settings', 'set', 'session_idle', '45m'])).code).toBe(0);
    expect(await cli(['settings', 'set', 'session_idle', 'forever'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/not a duration/) });
    expect(await cli(['settings', 'set', 'colour', 'blue'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/no setting "colour"/) });
    expect(JSON.parse((await cli(['settings', 'list', '--json'])).stdout)).toMatchObject({ require_reason: 'on', session_idle: '45m' });
    expect((await cli(['users', 'disable', 'alice'])).stdout).toMatch(/user alice disabled/);
    expect((await cli(['users', 'passwd', 'boss', '--password-stdin'], 'a new boss password\n')).stdout).toMatch(/password of boss changed/);

    const verified = await cli(['audit', 'verify']);
    expect(verified).toMatchObject({ code: 0, stdout: 'audit log intact: 10 rows\n' });
    const exported = await cli(['audit', 'export', '--since', '2020-01-01']);
    expect(exported.code, exported.stderr).toBe(0);
    const rows = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.action)).toEqual([
      'users.add',
      'users.add',
      'grants.add',
      'grants.revoke',
      'tokens.create',
      'tokens.revoke',
      'settings.set',
      'settings.set',
      'users.disable',
      'users.passwd',
    ]);
    expect(rows[0]).toMatchObject({ id: 1, role: null, query: { username: 'alice', role: 'viewer', grants: [`corp:${CORP}`, `department:${CORP}:7`] } });
    expect(exported.stdout).not.toMatch(/password 1|boss password|wa_/);
    expect((await cli(['audit', 'export', '--since', '2999-01-01'])).stdout).toBe('');
    expect((await cli(['audit', 'export'])).code).toBe(2);

    // a row changed behind the archive's back: verify names it and exits 1
    const store = await openStore(dbUrl);
    try {
      await sql`UPDATE audit_log SET username = 'someone else' WHERE id = 4`.execute(store.db);
    } finally {
      await store.close();
    }
    expect(await cli(['audit', 'verify'])).toMatchObject({ code: 1, stdout: expect.stringMatching(/^audit log broken at row 4: /) });
  });
});
