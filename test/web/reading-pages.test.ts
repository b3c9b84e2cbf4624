/**
 * The reading pages in chromium against the real API (buildApi, the real accounts store and audit
 * log) and the built UI, under the server's CSP: sign in, open a conversation from the list, scroll
 * up through older pages, jump to a date, open a permalink centred and highlighted, copy a link,
 * the watermark, the access-reason dialog (the API's 428 stubbed in the browser), a viewer who cannot
 * open another corp's conversation by URL, and signing out; then, with the server's require_reason
 * on, the viewer gives a reason for the granted conversation and the audit row keeps it; on a phone
 * the day label sits above the messages, not over them.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeBrowser } from '../support/browser.ts';
import { type SignedIn, startUiServer, type UiServer } from '../support/ui-server.ts';
import { A, B, LONG, LONG_TEXTS, loadReadingArchive, longMsgid, longText } from './reading-archive.ts';

// In-page callbacks see the browser's objects; this file is type-checked without the DOM library.
declare const document: { querySelector(selector: string): { scrollTop: number; getBoundingClientRect(): Box } | null; body: { innerText: string } };
declare const getComputedStyle: (el: unknown) => { backgroundImage: string };
declare const navigator: { clipboard: { readText(): Promise<string> } };
interface Box {
  top: number;
  bottom: number;
}

const enc = encodeURIComponent;

describeBrowser('the reading pages', () => {
  let ui: UiServer;
  let store: Store;
  let app: App;
  let base: string;

  beforeAll(async () => {
    ui = await startUiServer('wa-web-reading-', async (app) => {
      await loadReadingArchive(app);
      await app.access.admin.addUser({ username: 'setup' }, { username: 'reader', role: 'admin', password: 'correct horse battery', grants: [] });
      await app.access.admin.addUser(
        { username: 'setup' },
        { username: 'vic', role: 'viewer', password: 'viewer password 1', grants: [{ kind: 'conversation', corpid: A, conversation: 'pair:alice|bob' }] },
      );
    });
    ({ store, app, base } = ui);
  }, 120_000);

  afterAll(() => ui?.close());

  /** Signed in from `/` (sent to the login page first), in Shanghai's time zone, allowed the clipboard. */
  async function signedIn(username: string, password: string): Promise<SignedIn> {
    const signed = await ui.signIn(username, password, { from: '/', context: { timezoneId: 'Asia/Shanghai' } });
    await signed.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    return signed;
  }

  const highlighted = (page: Page) => page.locator('.is-highlighted');
  /** A message's text in the timeline (the conversation list shows previews of the same words). */
  const said = (page: Page, text: string) => page.locator('[data-test=timeline-scroller] .text-body__content').getByText(text, { exact: true });

  it('reads a conversation: the list, older pages, a date, a permalink, a copied link, the watermark, a reason, and signing out', async () => {
    const { context, page, problems } = await signedIn('reader', 'correct horse battery');
    // home goes to the first corp's conversations
    await page.waitForURL((url) => url.pathname === `/c/${A}`);
    // the corp list loads after the conversations: wait for the switcher it makes
    await page.locator('.corp-switcher option').nth(1).waitFor({ state: 'attached' });
    await expect(page.locator('.corp-switcher option').allInnerTexts()).resolves.toEqual([A, B]);
    const item = page.locator(`[data-conversation="${LONG}"]`);
    await expect(item.innerText()).resolves.toMatch(/爱丽丝、张三客户[\s\S]*长对话第300条消息[\s\S]*346 条消息[\s\S]*已同意存档/);

    // open it from the list: the newest page, at its end, with the day always on screen
    await item.click();
    await page.waitForURL((url) => decodeURIComponent(url.pathname) === `/c/${A}/${LONG}`);
    await said(page, longText(LONG_TEXTS - 1)).waitFor();
    await expect(page.locator('[data-test=sticky-day]').innerText()).resolves.toBe('2026年3月6日星期五');
    await expect(page.locator('[data-test=timeline-title]').innerText()).resolves.toBe('爱丽丝、张三客户');

    // the watermark: the viewer's name and today's date, drawn as a data: SVG background
    const watermark = page.locator('[data-test=watermark]');
    await expect(watermark.getAttribute('data-text')).resolves.toMatch(/^reader \d{4}-\d{2}-\d{2}$/);
    await expect(watermark.evaluate((el) => getComputedStyle(el).backgroundImage)).resolves.toMatch(/^url\("data:image\/svg\+xml/);

    // scrolling up loads older pages until the first message of the conversation
    const timeline = page.locator('[data-test=timeline]');
    const loaded = Number(await timeline.getAttribute('data-loaded'));
    for (let i = 0; i < 30 && (await timeline.getAttribute('data-has-older')) === 'true'; i++) {
      await page.evaluate(() => (document.querySelector('[data-test=timeline-scroller]')!.scrollTop = 0));
      await page.waitForTimeout(150);
    }
    await expect(timeline.getAttribute('data-has-older')).resolves.toBe('false');
    expect(Number(await timeline.getAttribute('data-loaded'))).toBeGreaterThan(loaded);
    await page.evaluate(() => (document.querySelector('[data-test=timeline-scroller]')!.scrollTop = 0));
    await said(page, '你好，我想咨询').waitFor();
    await expect(page.locator('[data-test=sticky-day]').innerText()).resolves.toBe('2026年3月1日星期日');

    // jump to a date: the calendar marks the days with messages; a day opens at its first message
    await page.locator('[data-test=open-calendar]').click();
    await expect(page.locator('[data-test=calendar-month]').innerText()).resolves.toBe('2026年3月');
    // the month's days are asked of the server once it opens: read the marks when they have come
    await page.locator('[data-test=calendar][data-state=ready]').waitFor();
    await expect(page.locator('.calendar__day.is-marked').evaluateAll((els) => els.map((e) => e.getAttribute('data-day')))).resolves.toEqual([
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
    ]);
    await page.locator('[data-day="2026-03-03"]').click();
    await expect(highlighted(page).getAttribute('data-msgid')).resolves.toBe(longMsgid(60));
    await expect(highlighted(page).innerText()).resolves.toContain(longText(60));
    await expect(page.locator('[data-test=sticky-day]').innerText()).resolves.toBe('2026年3月3日星期二');

    // a permalink opens the timeline centred on its message, highlighted
    await page.goto(`${base}/c/${A}/${enc(LONG)}?msg=${longMsgid(30)}`);
    await page.locator(`[data-msgid="${longMsgid(30)}"].is-highlighted`).waitFor();
    const [box, view] = await Promise.all([
      highlighted(page).evaluate((el) => el.getBoundingClientRect()),
      page.evaluate(() => document.querySelector('[data-test=timeline-scroller]')!.getBoundingClientRect()),
    ]);
    const middle = (view.top + view.bottom) / 2;
    expect(box.top).toBeLessThan(middle);
    expect(box.bottom).toBeGreaterThan(middle);
    // its "copy link" puts the permalink on the clipboard
    await page.locator('.timeline__msg:has(.is-highlighted) [data-test=copy-link]').click();
    const copied = new URL(await page.evaluate(() => navigator.clipboard.readText()));
    expect([copied.origin, decodeURIComponent(copied.pathname), copied.search]).toEqual([base, `/c/${A}/${LONG}`, `?msg=${longMsgid(30)}`]);

    // a required access reason: asked once, sent percent-encoded, and the read goes on
    const reasons: string[] = [];
    await page.route('**/api/corps/*/conversations/*/messages*', async (route) => {
      const reason = route.request().headers()['x-access-reason'];
      if (reason === undefined)
        return route.fulfill({ status: 428, contentType: 'application/json', body: JSON.stringify({ error: 'REASON_REQUIRED', message: 'give a reason' }) });
      reasons.push(decodeURIComponent(reason));
      return route.continue();
    });
    await page.locator('[data-conversation="pair:alice|bob"]').click();
    const dialog = page.locator('[data-test=reason-dialog]');
    await dialog.waitFor();
    await expect(dialog.locator('button[type=submit]').isDisabled()).resolves.toBe(true);
    await dialog.getByLabel('理由').fill('  工单 CASE-42 核查  ');
    await dialog.locator('button[type=submit]').click();
    await said(page, '什么意思').waitFor();
    expect(reasons).toEqual(['工单 CASE-42 核查']);
    await expect(dialog.count()).resolves.toBe(0);
    await page.unroute('**/api/corps/*/conversations/*/messages*');

    await page.getByRole('button', { name: '退出登录' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    // the refused reads (the first session probe's 401, the stubbed 428) are the only errors the browser reports
    const unexpected = problems.errors.filter((e) => !/status of (401|428)/.test(e));
    expect({ ...problems, errors: unexpected }).toEqual({ cspViolations: [], errors: [], dialogs: [] });
    await context.close();
  });

  it("does not show a viewer another corp's conversation opened by URL, and asks for a reason the audit log keeps when the server requires one", async () => {
    const { context, page, problems } = await signedIn('vic', 'viewer password 1');
    await page.waitForURL((url) => url.pathname === `/c/${A}`);
    // one corp named by the viewer's grant: no switcher
    await expect(page.locator('[data-test=corp-switcher]').count()).resolves.toBe(0);
    await page.goto(`${base}/c/${B}/${enc('pair:eve|frank')}`);
    const state = page.locator('[data-test=timeline-error]');
    await state.waitFor();
    await expect(state.getAttribute('data-failure')).resolves.toBe('gone');
    await expect(state.innerText()).resolves.toBe('不存在或无权查看');
    await page.locator('[data-test=list-empty]').waitFor();
    const text = await page.evaluate(() => document.body.innerText);
    for (const secret of ['乙公司的消息', '回复乙公司', '伊芙', '弗兰克']) expect(text).not.toContain(secret);
    // the conversation granted opens; with require_reason on, only once the viewer gives a reason
    await app.access.admin.setSetting({ username: 'setup' }, 'require_reason', 'on');
    const reason = '工单 CASE-77 复核';
    try {
      await page.goto(`${base}/c/${A}/${enc('pair:alice|bob')}`);
      const dialog = page.locator('[data-test=reason-dialog]');
      await dialog.waitFor();
      await expect(said(page, '今天开会吗').count()).resolves.toBe(0);
      await dialog.getByLabel('理由').fill(reason);
      await dialog.locator('button[type=submit]').click();
      await said(page, '今天开会吗').waitFor();
    } finally {
      await app.access.admin.setSetting({ username: 'setup' }, 'require_reason', 'off');
    }
    // on a phone the day label takes its own strip above the messages, never covering one
    await page.setViewportSize({ width: 390, height: 844 });
    const [sticky, scroller] = await Promise.all([
      page.locator('[data-test=sticky-day]').evaluate((el) => el.getBoundingClientRect()),
      page.locator('[data-test=timeline-scroller]').evaluate((el) => el.getBoundingClientRect()),
    ]);
    expect(sticky.bottom).toBeLessThanOrEqual(scroller.top);
    // the server wrote the reason into the audit row of the read it allowed
    const rows = await store.db.selectFrom('audit_log').select(['action', 'conversation', 'reason']).where('username', '=', 'vic').where('reason', 'is not', null).execute();
    expect(rows).toContainEqual({ action: 'messages.read', conversation: 'pair:alice|bob', reason });
    const unexpected = problems.errors.filter((e) => !/status of (401|404|428)/.test(e));
    expect({ ...problems, errors: unexpected }).toEqual({ cspViolations: [], errors: [], dialogs: [] });
    await context.close();
  });
});
