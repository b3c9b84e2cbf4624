/**
 * The built web UI served by the archive's own HTTP edge, in chromium: the app's shell renders at `/`
 * and at a deep link, under the edge's real CSP, with no violation and no console error, its scripts
 * and styles from /assets/ cached as hashed files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { createLogger } from '../../src/app/logger.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { describeBrowser, launchBrowser, watchProblems } from '../support/browser.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';

const repo = join(import.meta.dirname, '..', '..');

describeBrowser('the web UI from the archive server', () => {
  let dir: string;
  let database: TestDatabase;
  let store: Store;
  let api: ApiInstance;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wa-web-served-'));
    database = await createTestDatabase('sqlite');
    store = await openStore(database.url);
    // the UI's own build settings, as `npm run build` uses them, into the test's folder
    const [, b] = await Promise.all([build({ configFile: join(repo, 'web/vite.config.ts'), build: { outDir: join(dir, 'web') } }), launchBrowser()]);
    browser = b;
    api = await buildApi(appWithEnv(store), createLogger('silent'), { webRoot: join(dir, 'web') });
    await api.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await store?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders the shell at / and at a deep link, under the server CSP, without violations or console errors', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' });
    const page: Page = await context.newPage();
    const problems = await watchProblems(page);
    const assets: Array<{ url: string; status: number; type: string; cache: string }> = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/assets/'))
        assets.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '', cache: r.headers()['cache-control'] ?? '' });
    });

    for (const path of ['/', '/c/wwa1b2c3d4e5f6a7b8/x']) {
      const res = await page.goto(`${base}${path}`);
      expect(res?.status(), path).toBe(200);
      expect(res?.headers()['content-security-policy'], path).toContain("script-src 'self'");
      await expect(page.locator('.app__title').innerText(), path).resolves.toBe('会话存档');
      expect(new URL(page.url()).pathname, path).toBe(path);
    }

    expect(assets.some((a) => a.type.startsWith('text/javascript'))).toBe(true);
    expect(assets.some((a) => a.type.startsWith('text/css'))).toBe(true);
    for (const a of assets) expect([a.status, a.cache], a.url).toEqual([200, 'public, max-age=31536000, immutable']);
    expect(problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
    await context.close();
  });
});
