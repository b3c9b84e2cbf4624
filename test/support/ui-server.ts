/**
 * What a browser test file of the web UI runs against: a SQLite archive in a folder of its own, the
 * built UI served by the real API (accounts store and audit log included) on a free port, and one
 * chromium; and signing in through the login page as a reader does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import type { App } from '../../src/app/app.ts';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { type ApiOptions, buildApi } from '../../src/api/build-api.ts';
import { createLogger } from '../../src/app/logger.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { launchBrowser, type PageProblems, watchProblems } from './browser.ts';
import { createTestDatabase } from './databases.ts';
import { builtUi } from './web-build.ts';

export interface SignedIn {
  context: BrowserContext;
  page: Page;
  problems: PageProblems;
}

export interface UiServer {
  /** the test file's own folder (removed by close) */
  dir: string;
  store: Store;
  app: App;
  api: ApiInstance;
  base: string;
  browser: Browser;
  /**
   * A new browser context (Chinese, 1280×800 unless `context` says otherwise) that opens `from`,
   * is sent to the login page and signs in there. The caller waits for where it lands.
   */
  signIn(username: string, password: string, options?: { context?: BrowserContextOptions; from?: string }): Promise<SignedIn>;
  close(): Promise<void>;
}

/**
 * Starts it all: `setUp` fills the archive (accounts, corps, messages) before the server starts, and
 * may give the API more options (a media store in `dir`).
 */
export async function startUiServer(prefix: string, setUp: (app: App, dir: string) => Promise<Partial<ApiOptions> | void>): Promise<UiServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const database = await createTestDatabase('sqlite');
  const store = await openStore(database.url);
  const app = appWithEnv(store);
  const [webRoot, browser, extra] = await Promise.all([builtUi(), launchBrowser(), setUp(app, dir)]);
  const api = await buildApi(app, createLogger('silent'), { ...extra, webRoot, access: { authenticator: app.access.accounts, audit: app.access.audit } });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  return {
    dir,
    store,
    app,
    api,
    base,
    browser,
    async signIn(username, password, options = {}) {
      const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 800 }, ...options.context });
      const page = await context.newPage();
      const problems = await watchProblems(page);
      await page.goto(`${base}${options.from ?? '/login'}`);
      await page.waitForURL((url) => url.pathname === '/login');
      await page.getByLabel('用户名').fill(username);
      await page.getByLabel('密码').fill(password);
      await page.getByRole('button', { name: '登录' }).click();
      return { context, page, problems };
    },
    async close() {
      await browser.close();
      await api.close();
      await store.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
