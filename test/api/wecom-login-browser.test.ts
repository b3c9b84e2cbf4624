/**
 * Sign in with WeCom in a real browser, across sites as in production: the archive is reached as
 * `localhost`, the simulator standing in for WeCom as `127.0.0.1`, and the browser goes back from
 * WeCom's QR page (once scanned) by a navigation that page starts: a cross-site navigation. The state cookie (SameSite=Lax) must come back with
 * it, and the session cookie (SameSite=Strict) set on that answer must then carry the page's own
 * requests. On SQLite only: the cookies are the browser's business, not the database's.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { type HttpServer, startHttpServer } from '../../src/api/http-server.ts';
import { createLogger } from '../../src/app/logger.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator/server.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { describeBrowser, launchBrowser } from '../support/browser.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';

describeBrowser('sign in with WeCom in chromium, across sites', () => {
  let database: TestDatabase;
  let store: Store;
  let sim: RunningSimulator;
  let server: HttpServer;
  let browser: Browser;
  let archive: string;
  let member: string;

  beforeAll(async () => {
    database = await createTestDatabase('sqlite');
    store = await openStore(database.url);
    const app = appWithEnv(store);
    [sim, browser] = await Promise.all([startSimulator({ messages: 0, seed: 'wecom-login-browser' }), launchBrowser()]);
    await registerCorps(app, [simulatorCorp(sim, { apiSecrets: false, callbackApps: false })]);
    member = [...sim.api.data.members.keys()][0]!;
    await app.access.admin.addUser(
      { username: 'test' },
      { username: 'zhang', role: 'viewer', password: 'a-long-enough-password', grants: [], wecom: { corpid: sim.corp.corpid, userid: member } },
    );
    server = await startHttpServer(app, 0, createLogger('silent'), '127.0.0.1', { access: { authenticator: app.access.accounts, audit: app.access.audit } });
    // another site than the simulator's 127.0.0.1
    archive = `http://localhost:${server.port}`;
    await app.loginApps.set({ corpid: sim.corp.corpid, agentid: sim.api.oauth.agentid, secret: sim.api.secrets.login, publicUrl: archive });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await sim?.close();
    await store?.close();
    await database?.drop();
  });

  it('comes back from WeCom signed in, on next, and the page is signed in', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      // the archive sends the browser to WeCom's QR page, which waits there for the scan
      await page.goto(`${archive}/api/session/wecom?corp=${sim.corp.corpid}&next=${encodeURIComponent('/search?q=x')}`);
      const qrPage = new URL(page.url());
      expect(`${qrPage.origin}${qrPage.pathname}`).toBe(`${sim.url}/wwlogin/sso/login`);
      // the member scans it: WeCom's page, on its own site, then sends the browser back with the code
      qrPage.searchParams.set('sim_userid', member);
      const scanned = await fetch(qrPage, { redirect: 'manual' });
      const back = scanned.headers.get('location')!;
      expect(back.startsWith(`${archive}/api/session/wecom/callback?`)).toBe(true);
      await page.evaluate((url) => {
        // in the page (the tests' types have no DOM)
        (globalThis as unknown as { location: { href: string } }).location.href = url;
      }, back);
      // with a Strict state cookie it lands on /login?error=WECOM_STATE_INVALID instead
      await page.waitForURL(`${archive}/search?q=x`, { timeout: 10_000 });
      const me = await page.evaluate(async () => {
        const res = await fetch('/api/me');
        return { status: res.status, body: (await res.json()) as unknown };
      });
      expect(me).toEqual({ status: 200, body: { user: { username: 'zhang', role: 'viewer' }, reasonRequired: false, watermark: true } });
    } finally {
      await context.close();
    }
  });
});
