/**
 * The built web UI served by the archive's own HTTP edge, in chromium: a signed-out reader who opens
 * a deep link is sent to the login page, signs in against the real accounts store and lands back on
 * the link, and on this archive without corps the start page says how to add one; all under the
 * edge's real CSP, with no violation and no console error but the expected 401 of the first session
 * probe, its scripts and styles from /assets/ cached as hashed files.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, watchProblems } from '../support/browser.ts';
import { startUiServer, type UiServer } from '../support/ui-server.ts';

describeBrowser('the web UI from the archive server', () => {
  let ui: UiServer;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    // the UI's own build settings, as `npm run build` uses them
    ui = await startUiServer('wa-web-served-', async (app) => {
      await app.access.admin.addUser({ username: 'setup' }, { username: 'reader', role: 'admin', password: 'correct horse battery', grants: [] });
    });
    ({ base, browser } = ui);
  }, 120_000);

  afterAll(() => ui?.close());

  it('sends a signed-out deep link to the login page and back after signing in, under the server CSP, without violations', async () => {
    const context = await browser.newContext({ locale: 'zh-CN' });
    const page: Page = await context.newPage();
    const problems = await watchProblems(page);
    const assets: Array<{ url: string; status: number; type: string; cache: string }> = [];
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/assets/'))
        assets.push({ url: r.url(), status: r.status(), type: r.headers()['content-type'] ?? '', cache: r.headers()['cache-control'] ?? '' });
    });

    const deep = '/c/wwa1b2c3d4e5f6a7b8/x?msg=m1';
    const res = await page.goto(`${base}${deep}`);
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect(page.locator('.app__title').innerText()).resolves.toBe('会话存档');
    await page.waitForURL((url) => url.pathname === '/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(deep);

    await page.getByLabel('用户名').fill('reader');
    await page.getByLabel('密码').fill('wrong password!!');
    await page.getByRole('button', { name: '登录' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toBe('用户名或密码错误');
    await page.getByLabel('密码').fill('correct horse battery');
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL((url) => url.pathname + url.search === deep);
    await expect(page.locator('.app__user').innerText()).resolves.toBe('reader');
    // no such corp here: the page says so (and the browser logs the API's 404)
    await expect(page.getByText('不存在或无权查看').first().innerText()).resolves.toContain('不存在或无权查看');
    // a fresh archive has no corp: the start page tells the admin the commands that add one
    await page.locator('.app__title').click();
    const empty = page.locator('[data-test=no-corps]');
    await expect(empty.locator('h1').innerText()).resolves.toBe('还没有企业');
    await expect(empty.locator('pre').allInnerTexts()).resolves.toEqual([
      'wecom-archive corp add --corpid ID --secret-file PATH --sdk native:/path/to/libWeWorkFinanceSdk_C.so',
      'wecom-archive keys generate --corp ID',
    ]);

    // signing out returns to the login page, and the app no longer opens without signing in
    await page.getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await page.goto(`${base}/`);
    await page.waitForURL((url) => url.pathname === '/login');

    expect(assets.some((a) => a.type.startsWith('text/javascript'))).toBe(true);
    expect(assets.some((a) => a.type.startsWith('text/css'))).toBe(true);
    for (const a of assets) expect([a.status, a.cache], a.url).toEqual([200, 'public, max-age=31536000, immutable']);
    // the browser reports each refused request: the session probes while signed out, the wrong
    // password, and the conversation of a corp that does not exist
    const unexpected = problems.errors.filter((e) => !/status of (401 \(Unauthorized\)|404 \(Not Found\))/.test(e));
    expect({ ...problems, errors: unexpected }).toEqual({ cspViolations: [], errors: [], dialogs: [] });
    expect(problems.errors.length).toBeGreaterThan(0);
    await context.close();
  });
});
