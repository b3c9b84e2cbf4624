/**
 * `demo` prints where the web UI is and a login that signs in: a new admin account with a random
 * password the first time; a second demo on the same data keeps that account and shows no password.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { eventually, rawRequest } from '../callbacks/harness.ts';
import { privateCliData } from '../support/cli-runner.ts';

describe('demo on SQLite: the UI address and a login in the banner', () => {
  const { dir, env } = privateCliData('wa-demo-login-', 'warn');

  /** Runs `demo` in this process until the banner names the UI and the login, then stops it. */
  async function demoBanner(check: (stderr: string, ui: string) => Promise<void>): Promise<string> {
    const stopper = new AbortController();
    let stderr = '';
    const exited = main(['demo', '--messages', '20', '--listen', '127.0.0.1:0'], {
      out: () => undefined,
      err: (line) => void (stderr += `${line}\n`),
      stdout: new PassThrough(),
      cwd: dir,
      env,
      signal: stopper.signal,
    });
    try {
      const ui = await eventually(
        async () => (/demo: sign in as /.test(stderr) ? /demo: web UI at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stderr)?.[1] : undefined),
        30_000,
        'the banner',
      );
      await check(stderr, ui);
    } finally {
      stopper.abort();
      expect(await exited).toBe(0);
    }
    return stderr;
  }

  const signIn = (ui: string, username: string, password: string) =>
    rawRequest(ui.replace(/\/$/, ''), 'POST', '/api/session', JSON.stringify({ username, password }), { 'content-type': 'application/json', origin: ui.replace(/\/$/, '') });

  it('creates admin with a password that signs in, and on the next demo keeps it without printing one', async () => {
    let password = '';
    const first = await demoBanner(async (stderr, ui) => {
      password = /demo: sign in as admin with password (\S+) /.exec(stderr)?.[1] ?? '';
      expect(password).toMatch(/^[A-Za-z0-9_-]{16}$/);
      const signedIn = await signIn(ui, 'admin', password);
      expect(signedIn.status, signedIn.body).toBe(200);
      expect(JSON.parse(signedIn.body)).toMatchObject({ user: { username: 'admin', role: 'admin' } });
      expect((await signIn(ui, 'admin', `${password}x`)).status).toBe(401);
      // the login page may offer WeCom too, through the simulator's app
      const methods = JSON.parse((await rawRequest(ui.replace(/\/$/, ''), 'GET', '/api/session/methods')).body) as { wecom: Array<{ url: string }> };
      expect(methods.wecom).toEqual([expect.objectContaining({ url: expect.stringMatching(/^\/api\/session\/wecom\?corp=/) })]);
      // the address printed is the UI's: the app, or (a checkout not built yet) the 503 the banner warns of
      const page = await rawRequest(ui.replace(/\/$/, ''), 'GET', '/');
      if (stderr.includes('not built yet')) expect(JSON.parse(page.body)).toMatchObject({ error: 'WEB_UI_NOT_BUILT' });
      else expect([page.status, page.body]).toEqual([200, expect.stringContaining('<div id="app">')]);
    });
    expect(first).toContain('users passwd admin');

    const second = await demoBanner(async (stderr, ui) => {
      expect(stderr).toContain('demo: sign in as admin (the account exists already, its password is not shown; set a new one with `./bin/wecom-archive users passwd admin`)');
      // the account is kept as it was
      expect((await signIn(ui, 'admin', password)).status).toBe(200);
    });
    expect(second).not.toContain('with password');
    expect(second).not.toContain(password);
  }, 90_000);
});
