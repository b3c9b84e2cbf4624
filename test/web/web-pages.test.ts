/**
 * The search, gallery, customer and operations pages in chromium, against the real API (buildApi with
 * the real accounts store and audit log) over a small archive with a search index and a stored image,
 * under the server's CSP: a 2-character Chinese search finds a message and opens it in context; a
 * hostile message in a hit is text and opens no dialog; the sender picker suggests members and
 * customers by pinyin or initials and keeps the chosen one in the URL; the gallery's thumbnail loads
 * and "show in chat" goes to the permalink; the customer view lists the contact's conversations; a
 * viewer is refused the operations page; an admin retries a failed download and replays a failed
 * callback event there, reads the audit log, and adds a viewer with one conversation granted, which
 * is all that viewer then sees.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CallbackInbox } from '../../src/callbacks/callback-inbox.ts';
import { createLocalMediaStore } from '../../src/media/storage/local-media-store.ts';
import { objectKey } from '../../src/media/storage/media-store.ts';
import { nameKeys } from '../../src/directory/name-keys.ts';
import { indexDocs } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import type { Store } from '../../src/store/open-store.ts';
import { A, B, CUSTOMER, NAMES, T0, fixtureRows, loadFixture, memberRow, rowOf } from '../reading/reading-fixture.ts';
import { describeBrowser } from '../support/browser.ts';
import { type SignedIn, startUiServer, type UiServer } from '../support/ui-server.ts';

const SHOWN = 'pair:alice|bob';
const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> 报价单已发';
const PASSWORD = 'correct horse battery';

/** Messages the fixture lacks: a hostile text with the searched word, an image, a link. */
function pageMessages() {
  const send = (msgid: string, from: string, to: string, minutes: number, msgtype: string, body: Record<string, unknown>) => ({
    corpid: A,
    msgid,
    json: { msgid, action: 'send', from, tolist: [to], roomid: '', msgtime: T0 + 4 * 86_400_000 + minutes * 60_000, msgtype, [msgtype]: body },
  });
  return [
    send('x01', 'alice', 'bob', 1, 'text', { content: HOSTILE }),
    send('v01', 'bob', 'alice', 2, 'image', { md5sum: 'c4ca4238a0b923820dcc509a6f75849b', filesize: 100, sdkfileid: 'sdkV01' }),
    send('l01', 'alice', 'bob', 3, 'link', { title: '产品介绍', description: '介绍页', link_url: 'javascript:alert(3)' }),
  ];
}

describeBrowser('the search, gallery, people and operations pages', () => {
  let ui: UiServer;
  let store: Store;
  let base: string;
  let admin: SignedIn;

  async function signedIn(username: string): Promise<SignedIn> {
    const signed = await ui.signIn(username, PASSWORD);
    // signed in once the login page is left: for the start page, which may already have sent the
    // reader on to the first corp's conversations
    await signed.page.waitForURL((url) => url.pathname !== '/login');
    return signed;
  }

  beforeAll(async () => {
    ui = await startUiServer('wa-web-pages-', async (app, dir) => {
      store = app.store;
      for (const corpid of [A, B]) {
        await app.corps.add({ corpid, secret: 'archive-secret', sdk: { kind: 'simulator', url: 'http://127.0.0.1:9' }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 5 });
      }
      const extra = pageMessages().map((m, i) => rowOf(m, BigInt(3000 + i)));
      await loadFixture(store, [...(await fixtureRows(0)), ...extra]);
      const index = new IndexRepository(store.db, store.dialect);
      while ((await index.indexBatch(100, indexDocs)) > 0);

      // the image, stored: a real PNG in a local media store, its media row done
      const media = createLocalMediaStore(join(dir, 'media'));
      const png = await sharp({ create: { width: 96, height: 64, channels: 3, background: '#2e8b57' } })
        .png()
        .toBuffer();
      const sha256 = createHash('sha256').update(png).digest('hex');
      writeFileSync(join(dir, 'pic.png'), png);
      await media.putFile(objectKey(sha256), join(dir, 'pic.png'), { size: png.length, sha256, contentType: 'image/png' });
      await store.db
        .updateTable('media')
        .set({ state: 'done', sha256, size: png.length, content_type: 'image/png', storage_key: objectKey(sha256) })
        .where('corpid', '=', A)
        .where('msgid', '=', 'v01')
        .execute();
      // a member whose name reads like 鲍勃's (bao bo), so a lookup suggests two people
      await store.db
        .insertInto('dir_members')
        .values(memberRow(A, 'baobo', '包博', [4]))
        .execute();
      // the directory's pinyin and initials keys, as the directory stage writes them (the fixture has names only)
      for (const [id, name] of Object.entries({ ...NAMES[A]!, baobo: '包博' })) {
        const keys = nameKeys(name);
        const set = { name_pinyin: keys.pinyin, name_initials: keys.initials };
        await store.db.updateTable('dir_members').set(set).where('corpid', '=', A).where('userid', '=', id).execute();
        await store.db.updateTable('dir_external_contacts').set(set).where('corpid', '=', A).where('external_userid', '=', id).execute();
      }
      await store.db
        .insertInto('dir_consent')
        .values({ corpid: A, scope: 'single', scope_id: 'alice', external_id: CUSTOMER, status: 'Agree', status_change_time: T0, source: 'api', checked_at: T0 })
        .execute();

      await app.access.admin.addUser({ username: 'setup' }, { username: 'reader', role: 'admin', password: PASSWORD, grants: [] });
      await app.access.admin.addUser({ username: 'setup' }, { username: 'vera', role: 'viewer', password: PASSWORD, grants: [] });
      return { media: { store: media, scratchDir: join(dir, 'scratch') } };
    });
    base = ui.base;
    admin = await signedIn('reader');
  }, 120_000);

  afterAll(() => ui?.close());

  /** The path and query the browser is at, decoded. */
  const at = (page: Page) => {
    const url = new URL(page.url());
    return { path: decodeURIComponent(url.pathname), msg: url.searchParams.get('msg') };
  };

  it('finds a 2-character Chinese word from the header box in the first corp, shows a hostile hit as text, and opens it in context', async () => {
    const { page, problems } = admin;
    // the start page's list of corps is held back until the search has opened: its answer must not
    // send the reader on to the first corp's conversations afterwards
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let asked!: () => void;
    const homeAsked = new Promise<void>((resolve) => (asked = resolve));
    let first = true;
    // the page signed in a moment ago may still be asking for its own list of corps: it is left
    // first, so the request held below is the one of the start page loaded below
    await page.goto('about:blank');
    await page.route('**/api/corps', async (route) => {
      if (first) {
        first = false;
        asked();
        await held;
      }
      await route.continue();
    });
    await page.goto(`${base}/`);
    await homeAsked;
    await page.getByRole('searchbox', { name: '搜索' }).first().fill('报价');
    await page.keyboard.press('Enter');
    // no corp named: the search opens for the reader's first corp, and the URL says so
    await page.waitForURL((url) => url.pathname === '/search' && url.searchParams.get('corp') === A);
    const hit = page.locator('.hit').first();
    await hit.waitFor();
    const homeAnswered = page.waitForResponse((res) => new URL(res.url()).pathname === '/api/corps');
    release();
    await (await homeAnswered).finished();
    // the start page sends the reader on (when it does) within a few milliseconds of its answer; the
    // page has had its load states long since, so nothing else tells that moment has passed
    await page.waitForTimeout(300);
    await page.unroute('**/api/corps');
    expect(new URL(page.url()).pathname).toBe('/search');
    await expect(page.locator('.hit').count()).resolves.toBe(1);
    // the first page comes with how many match in all
    await expect(page.locator('[data-test=search-total]').innerText()).resolves.toBe('共 1 条消息');
    await expect(hit.locator('.snippet__hit').allInnerTexts()).resolves.toEqual(['报价']);
    await expect(hit.locator('.hit__snippet').innerText()).resolves.toBe(HOSTILE);
    await expect(hit.locator('.hit__sender').innerText()).resolves.toBe('爱丽丝');
    // the conversation by its people's names, its key kept for a tooltip
    await expect(hit.locator('.hit__conversation').innerText()).resolves.toBe('爱丽丝、鲍勃');
    await expect(hit.locator('.hit__conversation').getAttribute('title')).resolves.toBe(SHOWN);
    // the markup stayed text: no element came of it
    await expect(page.locator('.hit script, .hit img').count()).resolves.toBe(0);

    await hit.getByRole('link', { name: '在上下文中打开' }).click();
    await page.waitForURL((url) => url.pathname.startsWith('/c/'));
    expect(at(page)).toEqual({ path: `/c/${A}/${SHOWN}`, msg: 'x01' });
    expect(problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
  });

  it('says what is wrong with a bad query, and when nothing matches', async () => {
    const { page } = admin;
    await page.goto(`${base}/search?corp=${A}&q=${encodeURIComponent('"')}`);
    await expect(page.getByRole('alert').innerText()).resolves.toMatch(/^搜索语句有误：/);
    await page.goto(`${base}/search?corp=${A}&q=${encodeURIComponent('没有这个词')}`);
    // and says what to try: fewer words, or, when a filter narrows the search, clearing it
    await expect(page.locator('.state--empty').innerText()).resolves.toBe('没有找到匹配的消息。每个词都须出现：可以减少或缩短关键词再试');
    await page.goto(`${base}/search?corp=${A}&q=${encodeURIComponent('没有这个词')}&type=file`);
    await expect(page.locator('.state--empty').innerText()).resolves.toMatch(/^没有找到匹配的消息。可以清除一项筛选条件/);
    // the browser reports the refused query; nothing else went wrong
    expect(admin.problems.errors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
    admin.problems.errors.length = 0;
  });

  it('filters by a sender chosen from the picker by pinyin or initials, by keyboard, kept in the URL across a reload, and removed', async () => {
    const { page, problems } = admin;
    await page.goto(`${base}/search?corp=${A}&q=${encodeURIComponent('开会')}`);
    await page.locator('.hit').first().waitFor();
    const senders = () => page.locator('.hit__sender').allInnerTexts();
    expect(new Set(await senders())).toEqual(new Set(['爱丽丝', '鲍勃']));
    await expect(page.locator('[data-test=search-total]').innerText()).resolves.toBe(`共 ${await page.locator('.hit').count()} 条消息`);

    // pinyin suggests the two members whose names read bao bo; the arrow key moves to 鲍勃 and Enter chooses him
    const box = page.getByRole('combobox', { name: '发送人' });
    await box.fill('baob');
    const options = page.locator('[data-test=person-picker]').getByRole('option');
    await options.nth(1).waitFor();
    await expect(options.allInnerTexts()).resolves.toEqual([expect.stringMatching(/^包博\s+baobo\s+成员$/), expect.stringMatching(/^鲍勃\s+bob\s+成员$/)]);
    await expect(box.getAttribute('aria-expanded')).resolves.toBe('true');
    await box.press('ArrowDown');
    await expect(options.nth(1).getAttribute('aria-selected')).resolves.toBe('true');
    await expect(box.getAttribute('aria-activedescendant')).resolves.toBe(await options.nth(1).getAttribute('id'));
    await box.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('from') === 'bob');
    const chip = page.locator('[data-test=from-chip]');
    await expect(chip.innerText()).resolves.toMatch(/成员\s*鲍勃/);
    await expect.poll(senders, { timeout: 10_000 }).toEqual(['鲍勃']);

    // the link keeps the filter: after a reload the chip names the sender from the directory again
    await page.reload();
    await expect.poll(() => chip.innerText(), { timeout: 10_000 }).toMatch(/成员\s*鲍勃/);
    await expect(senders()).resolves.toEqual(['鲍勃']);

    // a link that names the sender by name (typed, not chosen) gets the chip of that one person
    await page.goto(`${base}/search?corp=${A}&q=${encodeURIComponent('开会')}&from=${encodeURIComponent('鲍勃')}`);
    await expect.poll(() => chip.innerText(), { timeout: 10_000 }).toMatch(/成员\s*鲍勃/);
    await expect.poll(senders, { timeout: 10_000 }).toEqual(['鲍勃']);

    // removing the chip drops the filter; initials find a customer
    await chip.getByRole('button', { name: '移除发送人筛选：鲍勃' }).click();
    await page.waitForURL((url) => !url.searchParams.has('from'));
    // the box the chip gave way to has the focus
    await expect.poll(() => box.evaluate((el) => (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement === el)).toBe(true);
    await box.fill('zsk');
    await options.first().waitFor();
    await expect(options.allInnerTexts()).resolves.toEqual([expect.stringMatching(/^张三客户\s+wmZhangSanCustomer0001\s+客户$/)]);
    await box.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('from') === CUSTOMER);
    await expect(chip.innerText()).resolves.toMatch(/客户\s*张三客户/);
    // a text the directory does not know suggests no one
    await chip.getByRole('button').click();
    await page.waitForURL((url) => !url.searchParams.has('from'));
    await box.fill('qqqq');
    await expect.poll(() => page.locator('.person-picker__note').innerText(), { timeout: 10_000 }).toBe('没有匹配的成员或客户');
    expect(problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
  });

  it("shows the conversation's image thumbnail in the gallery, and goes to the permalink from it", async () => {
    const { page, problems } = admin;
    await page.goto(`${base}/c/${A}/${encodeURIComponent(SHOWN)}/media`);
    const thumb = page.locator('.gallery-tile img').first();
    await thumb.waitFor();
    // the thumbnail is a 96 px wide image made from the stored file (never enlarged)
    await expect.poll(() => thumb.evaluate((el) => (el as unknown as { complete: boolean; naturalWidth: number }).naturalWidth), { timeout: 10_000 }).toBe(96);
    expect(await thumb.getAttribute('src')).toContain('variant=thumb');
    // the fixture's older image has no file yet: a placeholder says so
    await expect(page.locator('.gallery-tile__missing').first().innerText()).resolves.toBe('等待下载');

    await page.getByRole('tab', { name: '链接' }).click();
    await expect(page.locator('.link-card__url').innerText()).resolves.toBe('javascript:alert(3)');
    await expect(page.locator('.gallery-list a[href^="javascript"]').count()).resolves.toBe(0);
    await page.getByRole('tab', { name: '文件' }).click();
    await expect(page.locator('.state--empty').innerText()).resolves.toBe('这个会话没有文件');

    await page.getByRole('tab', { name: '图片和视频' }).click();
    await page.locator('.gallery-tile').first().getByRole('link', { name: '在聊天中查看' }).click();
    await page.waitForURL((url) => url.searchParams.get('msg') === 'v01');
    expect(at(page)).toEqual({ path: `/c/${A}/${SHOWN}`, msg: 'v01' });
    expect(problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
  });

  it("lists a customer's conversations across members, with the contact's consent", async () => {
    const { page } = admin;
    await page.goto(`${base}/customers/${A}/${CUSTOMER}`);
    // the id stands in for the name until the profile has come
    await expect.poll(() => page.locator('.person__name').innerText(), { timeout: 10_000 }).toBe('张三客户');
    await expect(page.locator('.person__line').first().innerText()).resolves.toContain('微信用户');
    await expect(page.locator('.consent__item').innerText()).resolves.toBe('爱丽丝：已同意存档');
    const rows = page.locator('.conversation-row');
    await rows.first().waitFor();
    const titles = await rows.locator('.conversation-row__title').allInnerTexts();
    expect(titles.length).toBe(2);
    expect(titles.some((t) => t.includes('爱丽丝'))).toBe(true);
    await rows.first().locator('.conversation-row__main').click();
    await page.waitForURL((url) => url.pathname.startsWith('/c/'));
    expect(at(page).path.startsWith(`/c/${A}/`)).toBe(true);
  });

  it('refuses the operations page to a viewer; shows an admin the corps, retries a failed download, replays a failed event, and reads the audit log', async () => {
    const viewer = await signedIn('vera');
    await expect(viewer.page.locator('[data-test="ops-link"]').count()).resolves.toBe(0);
    await viewer.page.goto(`${base}/ops`);
    await expect(viewer.page.locator('[data-test="forbidden"]').innerText()).resolves.toBe('没有权限查看此页面（403）');
    await expect(viewer.page.locator('.corp-card, .audit').count()).resolves.toBe(0);
    await viewer.context.close();

    // the fixture's older image failed to download, and a contact event's handler gave up
    await store.db
      .updateTable('media')
      .set({ state: 'failed', error_code: 10005, error: 'GetMediaData 10005: fileid error', attempts: 1 })
      .where('corpid', '=', A)
      .where('msgid', '=', 'a06')
      .execute();
    const inbox = new CallbackInbox(store.db);
    const event = {
      corpid: A,
      app: 'contacts',
      kind: 'change_contact' as const,
      event: 'change_contact',
      changeType: 'update_user',
      body: '<xml/>',
      remoteAddr: null,
      eventTime: null,
    };
    await inbox.store({ ...event, dedupKey: 'c'.repeat(64), state: 'failed', lastError: 'the directory database is read-only' });

    const { page, problems } = admin;
    await page.locator('[data-test="ops-link"]').click();
    await page.waitForURL((url) => url.pathname === '/ops');
    await page.locator('.corp-card').first().waitFor();
    await expect(page.locator('.corp-card').count()).resolves.toBe(2);

    // the failed image, with WeCom's code; retried after a confirmation, the failed count goes
    const card = page.locator(`.corp-card[data-corp="${A}"]`);
    const failedCount = card.locator('.facts__item.warn');
    await expect(failedCount.innerText()).resolves.toBe('下载失败 1');
    await card.locator('[data-test="media-failures"] summary').click();
    await expect(card.locator('[data-test="media-failures"] .failure-list__item').innerText()).resolves.toMatch(
      /^\[图片\] a06\n10005 · GetMediaData 10005: fileid error\n尝试 1 次 · /,
    );
    await card.getByRole('button', { name: '重试失败的媒体' }).click();
    await card.getByRole('group', { name: '确认操作' }).getByRole('button', { name: '确定' }).click();
    await expect(card.locator('[data-test="requeued"]').innerText()).resolves.toBe('已重新排队 1 个媒体，下载阶段会重新下载');
    await expect.poll(() => failedCount.count(), { timeout: 5000 }).toBe(0);
    // the list is read again after the status the count comes from
    await expect.poll(() => card.locator('[data-test="media-failures"]').count(), { timeout: 5000 }).toBe(0);
    await expect(card.getByRole('button', { name: '重试失败的媒体' }).isDisabled()).resolves.toBe(true);
    await expect(card.locator('[data-test="media-actions"] .muted').innerText()).resolves.toBe('没有失败的媒体');
    // the failed event, replayed on its own
    await card.locator('[data-test="callback-failures"] summary').click();
    await card.locator('[data-test="callback-failures"]').getByRole('button', { name: '重放' }).click();
    await expect(card.locator('[data-test="replayed"]').innerText()).resolves.toBe('已重放 1 个事件');
    await expect.poll(() => card.locator('[data-test="callback-failures"]').count(), { timeout: 5000 }).toBe(0);
    expect(await store.db.selectFrom('callback_inbox').select('state').execute()).toEqual([{ state: 'pending' }]);
    expect(problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });

    const rows = page.locator('.audit__row');
    await rows.first().waitFor();
    const actions = await rows.locator('td:nth-child(3)').allInnerTexts();
    expect(actions).toContain('search');
    expect(actions).toContain('gallery.read');
    await page.getByLabel('操作').fill('search');
    await page.getByRole('button', { name: '筛选' }).click();
    await page.waitForURL((url) => url.searchParams.get('action') === 'search');
    await expect.poll(async () => [...new Set(await page.locator('.audit__row td:nth-child(3)').allInnerTexts())], { timeout: 5000 }).toEqual(['search']);
  });

  it('lets an admin add a viewer and grant it one conversation on the operations page, which is all the viewer then sees', async () => {
    const { page, problems } = admin;
    await page.goto(`${base}/ops`);
    await page.locator('.user-card[data-user="reader"]').waitFor();
    await page.getByRole('button', { name: '添加用户' }).click();
    const form = page.locator('#user-form');
    await form.getByLabel('用户名', { exact: true }).fill('wendy');
    await form.getByLabel('密码', { exact: true }).fill('short');
    await form.getByRole('button', { name: '创建' }).click();
    await expect(form.getByRole('alert').innerText()).resolves.toBe('密码至少 10 个字符');
    await form.getByLabel('密码', { exact: true }).fill(PASSWORD);
    await form.getByRole('button', { name: '创建' }).click();
    await expect(page.locator('.users__notice').innerText()).resolves.toBe('已添加用户 wendy');
    const card = page.locator('.user-card[data-user="wendy"]');
    await expect(card.locator('.grant-list').innerText()).resolves.toBe('没有授权：还不能查看任何会话');

    await card.getByLabel('企业 ID').fill(A);
    await card.getByLabel('会话键').fill(SHOWN);
    await card.getByRole('button', { name: '添加授权' }).click();
    await expect(card.locator('.grant__text').allInnerTexts()).resolves.toEqual([`${A} · ${SHOWN}`]);
    // a taken name is said at its field
    await page.getByRole('button', { name: '添加用户' }).click();
    await form.getByLabel('用户名', { exact: true }).fill('wendy');
    await form.getByLabel('密码', { exact: true }).fill(PASSWORD);
    await form.getByRole('button', { name: '创建' }).click();
    await expect(form.getByRole('alert').innerText()).resolves.toBe('用户名 wendy 已存在');
    expect(problems.cspViolations).toEqual([]);
    expect(problems.errors).toEqual(['Failed to load resource: the server responded with a status of 409 (Conflict)']);
    problems.errors.length = 0;

    const viewer = await signedIn('wendy');
    await viewer.page.goto(`${base}/c/${A}`);
    await viewer.page.locator('.conv-item').first().waitFor();
    await expect(viewer.page.locator('.conv-item').evaluateAll((items) => items.map((i) => i.getAttribute('data-conversation')))).resolves.toEqual([SHOWN]);
    expect(viewer.problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
    await viewer.context.close();
  });
});
