/**
 * Web UI size benchmark. Builds the UI as `npm install` does (minified, into a temporary folder),
 * serves it from the real API over a small SQLite archive (the reading pages' test archive: two
 * corps, a conversation holding a message of every type; indexed for search), and counts in chromium the JS and CSS the
 * browser fetches, gzipped at level 9 as a server's static gzip would send them, on three cold
 * loads (a fresh browser context each, so nothing comes from the cache):
 * - `login`: `/login`, signed out;
 * - `conversation`: a conversation opened by its address, signed in, until its newest messages are
 *   on screen (the first page a reader meets, with its message components);
 * - `search`: `/search?q=…` with hits on screen; a route past the first screen, loaded on demand.
 * Lazy chunks count where the browser loads them, so the figures follow the router's code
 * splitting. Budget (issue 19): the first load, `login` and `conversation`, at most 400 KB each.
 * Prints one JSON line.
 *
 *   npm run bench:web
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { buildApi } from '../src/api/build-api.ts';
import { createLogger } from '../src/app/logger.ts';
import { indexDocs } from '../src/search/index-docs.ts';
import { IndexRepository } from '../src/search/index-repository.ts';
import { openStore } from '../src/store/open-store.ts';
import { appWithEnv } from '../test/callbacks/harness.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { A, LONG, LONG_TEXTS, loadReadingArchive, longText } from '../test/web/reading-archive.ts';
import { baseConfig } from '../web/vite.config.ts';

const BUDGET_BYTES = 400 * 1024;
const USER = { username: 'reader', password: 'correct horse battery' };
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-web-'));

interface Load {
  js_gzip_bytes: number;
  css_gzip_bytes: number;
  total_gzip_bytes: number;
  files: number;
}

/** The JS and CSS a page fetches from the moment this is called, gzipped; `done` settles the count. */
function countAssets(page: Page): { done(): Promise<Load> } {
  const bodies: Array<Promise<{ css: boolean; bytes: number }>> = [];
  page.on('response', (response) => {
    const type = response.headers()['content-type'] ?? '';
    const css = type.startsWith('text/css');
    if (!css && !type.startsWith('text/javascript') && !type.startsWith('application/javascript')) return;
    bodies.push(response.body().then((body) => ({ css, bytes: gzipSync(body, { level: 9 }).length })));
  });
  return {
    async done() {
      const all = await Promise.all(bodies);
      const js = all.filter((b) => !b.css).reduce((sum, b) => sum + b.bytes, 0);
      const css = all.filter((b) => b.css).reduce((sum, b) => sum + b.bytes, 0);
      return { js_gzip_bytes: js, css_gzip_bytes: css, total_gzip_bytes: js + css, files: all.length };
    },
  };
}

/** A cold load of `path` in a fresh context (signed in when `cookies` are given), until `ready` holds. */
async function coldLoad(browser: Browser, url: string, cookies: Parameters<BrowserContext['addCookies']>[0], ready: (page: Page) => Promise<void>): Promise<Load> {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
  try {
    if (cookies.length > 0) await context.addCookies(cookies);
    const page = await context.newPage();
    const assets = countAssets(page);
    await page.goto(url);
    await ready(page);
    // whatever the page still fetches once it shows its content (a chunk preloaded late) counts too
    await page.waitForLoadState('networkidle');
    return await assets.done();
  } finally {
    await context.close();
  }
}

try {
  const store = await openStore(`sqlite:${join(dir, 'archive.db')}`);
  const app = appWithEnv(store);
  const started = performance.now();
  await build({ ...baseConfig, configFile: false, logLevel: 'error', build: { ...baseConfig.build, outDir: join(dir, 'web') } });
  const buildSeconds = (performance.now() - started) / 1000;
  await loadReadingArchive(app);
  const index = new IndexRepository(store.db, store.dialect);
  while ((await index.indexBatch(500, indexDocs)) > 0);
  await app.access.admin.addUser({ username: 'bench' }, { ...USER, role: 'admin', grants: [] });
  const api = await buildApi(app, createLogger('silent'), { webRoot: join(dir, 'web'), access: { authenticator: app.access.accounts, audit: app.access.audit } });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  const browser = await launchBrowser();
  try {
    const login = await coldLoad(browser, `${base}/login`, [], (page) => page.locator('button[type=submit]').waitFor());

    // sign in once, for the session cookie the signed-in loads start with
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.locator('input[name=username]').fill(USER.username);
    await page.locator('input[name=password]').fill(USER.password);
    await page.locator('button[type=submit]').click();
    await page.waitForURL((url) => url.pathname.startsWith('/c/'));
    const cookies = await context.cookies();
    await context.close();

    const conversation = await coldLoad(browser, `${base}/c/${A}/${encodeURIComponent(LONG)}`, cookies, (p) =>
      p
        .locator('[data-test=timeline-scroller] .text-body__content')
        .getByText(longText(LONG_TEXTS - 1), { exact: true })
        .waitFor(),
    );
    const search = await coldLoad(browser, `${base}/search?corp=${A}&q=${encodeURIComponent('长对话')}`, cookies, (p) => p.locator('.hit').first().waitFor());
    const allAssets = readdirSync(join(dir, 'web', 'assets')).reduce((sum, name) => sum + gzipSync(readFileSync(join(dir, 'web', 'assets', name)), { level: 9 }).length, 0);
    console.log(
      JSON.stringify({
        build_s: Number(buildSeconds.toFixed(2)),
        login,
        conversation,
        search,
        all_assets_gzip_bytes: allAssets,
        budget_bytes: BUDGET_BYTES,
        within_budget: login.total_gzip_bytes <= BUDGET_BYTES && conversation.total_gzip_bytes <= BUDGET_BYTES,
      }),
    );
  } finally {
    await browser.close();
    await api.close();
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
