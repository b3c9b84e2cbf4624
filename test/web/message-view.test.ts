/**
 * Every message type of the fixture conversation, rendered by the real components in chromium under
 * the server's CSP: visible text and elements per type, media that play and open, hostile content
 * shown as text with no dialog, and the layout on a phone's width.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, launchBrowser, serveStatic, watchProblems, type PageProblems, type StaticServer } from '../support/browser.ts';
import { buildUiAndFixtures } from './build-fixtures.ts';
import { FIXTURE_MESSAGES, HOSTILE } from './fixtures/messages.ts';
import { HAVE_FFMPEG, writeMediaFiles } from './media-files.ts';

// In-page callbacks see the browser's objects; this file is type-checked without the DOM library.
declare const document: { documentElement: { scrollWidth: number }; querySelectorAll(selector: string): Iterable<PageElement> };
interface PageElement {
  getAttribute(name: string): string | null;
  getBoundingClientRect(): { right: number };
}
interface PageImage {
  complete: boolean;
  naturalWidth: number;
}
interface PageVideo {
  duration: number;
  currentTime: number;
  addEventListener(type: string, listener: () => void, options: { once: boolean }): void;
}
interface PageAudio {
  duration: number;
  playbackRate: number;
  addEventListener(type: string, listener: () => void, options: { once: boolean }): void;
  play(): Promise<void>;
}

/** The fixture msgid of the nth message of a type (a switch record, which has no msgtype, by its action). */
function idOf(msgtype: string, nth = 0): string {
  const found = FIXTURE_MESSAGES.filter((f) => (f.message.msgtype ?? f.message.action) === msgtype)[nth];
  if (!found) throw new Error(`no fixture of type ${msgtype}`);
  return found.message.msgid;
}

/** Text each type must show, read from the page as a person would see it. */
const EXPECTED_TEXT: [msgtype: string, nth: number, texts: string[]][] = [
  ['text', 0, ['周五下午三点开会', '张建国']],
  ['text', 1, ['https://example.com/a?b=1', '😀']],
  ['text', 3, ['李露西', '微信那边的引用', '好的']],
  ['image', 1, ['图片', '媒体文件等待下载']],
  ['image', 2, ['图片', '媒体文件已下载，但没有可用地址']],
  ['agree', 0, ['李露西 同意了会话内容存档']],
  ['disagree', 0, ['李露西 拒绝了会话内容存档']],
  ['voice', 0, ['时长 0:0']],
  ['video', 0, ['视频', '媒体文件已过期', '文件超过 3 天未下载']],
  ['card', 0, ['个人名片', 'wmGAgeDQAAAGjFmfnP7A3j2JxQDdLNhSw', '联系人']],
  ['location', 0, ['位置', '现代城', '北京市朝阳区建国路88号', '39.911125799']],
  ['emotion', 1, ['表情', '媒体文件不在存档中']],
  ['file', 0, ['DOCX', '资料.docx', '18 KB', '下载']],
  ['file', 1, ['合同.pdf', '4.2 MB', '媒体文件下载失败', '10001']],
  ['link', 0, ['链接', '请你加入群聊', '技术支持群', 'https://work.weixin.qq.com/wework_admin/external_room/join?extcode=xxx']],
  ['link', 1, ['javascript:alert(6)']],
  ['weapp', 0, ['小程序', '开始聊天前请仔细阅读服务须知事项', '服务须知']],
  ['chatrecord', 0, ['群聊的聊天记录', '记录里的第一句', '嵌套图文里的文字', '更早的聊天记录', '最里层的一句', '无法解析的内容']],
  ['todo', 0, ['待办', '准备周五的客户演示', '来自群聊的消息']],
  ['vote', 0, ['投票', '团建去哪里？', '发起投票', '爬山 / 露营']],
  ['collect', 0, ['填表', '团建报名表', '表项1，文本', '这是一个群']],
  ['redpacket', 0, ['红包', '恭喜发财，大吉大利', '普通红包', '1 个，共 ¥30.00']],
  ['meeting', 0, ['会议', '夕会', '3楼大会议室', '1234567890123456789']],
  ['meeting_notification', 0, ['会议通知', 'yinhuiyou的快速会议 已结束']],
  ['switch', 0, ['张建国 切换了企业']],
  ['docmsg', 0, ['在线文档', '测试&演示客户', 'https://doc.weixin.qq.com/docid=xxx']],
  ['markdown', 0, ['构建失败', 'wecom-archive', '查看详情', '点我']],
  ['news', 0, ['图文', '每日新闻', '今天的要闻']],
  ['calendar', 0, ['日程', 'xxx业绩复盘会', '会议室A', 'aaa、bbb']],
  ['mixed', 0, ['图文混排的文字']],
  ['meeting_voice_call', 0, ['音频通话存档', '共享文档', '65eb1cdd3e7a3c1740ecd74220b6c627.docx', '屏幕共享']],
  ['voip_doc_share', 0, ['通话中共享的文档', '欢迎使用微盘.pdf.pdf', '媒体文件正在下载']],
  ['external_redpacket', 0, ['互通红包', '新年快乐！', '拼手气红包', '2 个，共 ¥0.20']],
  ['sphfeed', 0, ['视频号', '云游天地旅行家', '视频', '盖尔默缆车']],
  ['voiptext', 0, ['单人语音通话', '通话时长 1:35']],
  ['qydiskfile', 0, ['微盘文件', '项目资料汇总.pdf']],
  ['future_type', 0, ['未知消息类型：future_type', 'foo', '未来的字段']],
];

describeBrowser('message view in a browser', () => {
  let dir: string;
  let server: StaticServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wecom-web-'));
    const [, b] = await Promise.all([buildUiAndFixtures(dir).then(() => writeMediaFiles(join(dir, 'media'))), launchBrowser()]);
    browser = b;
    server = await serveStatic(dir, 'web/index.html');
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: 'Asia/Shanghai', locale: 'zh-CN' });
    page = await context.newPage();
    problems = await watchProblems(page);
    await page.goto(`${server.url}/test/web/fixtures/index.html`);
    await page.locator(`[data-msgid="${idOf('future_type')}"]`).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders every fixture message, each type with its fields as visible text, and the date in the browser zone', async () => {
    for (const f of FIXTURE_MESSAGES) await expect(page.locator(`[data-msgid="${f.message.msgid}"]`).isVisible(), f.message.msgid).resolves.toBe(true);
    for (const [type, nth, texts] of EXPECTED_TEXT) {
      const text = await page.locator(`[data-msgid="${idOf(type, nth)}"]`).innerText();
      for (const want of texts) expect(text, `${type}#${nth}`).toContain(want);
    }
    const download = page.locator(`[data-msgid="${idOf('file')}"] a[download]`);
    await expect(download.getAttribute('download')).resolves.toBe('资料.docx');
    await expect(download.getAttribute('href')).resolves.toBe(`${server.url}/media/report.pdf`);
    // msgtime T0 + 1 min is 2020-10-28 17:01 in Beijing; the date is part of every time shown
    await expect(page.locator(`[data-msgid="${idOf('text')}"] time`).innerText()).resolves.toMatch(/2020\/10\/28 17:01/);
    // no external picture is fetched for link, news or markdown
    await expect(page.locator('img[src^="http"]:not([src^="' + server.url + '"])').count()).resolves.toBe(0);
  });

  it('shows hostile text and markdown as text: no script, no injected image, no javascript: link, no dialog', async () => {
    const hostile = page.locator(`[data-msgid="${idOf('text', 4)}"]`);
    const text = await hostile.innerText();
    expect(text).toContain(HOSTILE.script);
    expect(text).toContain(HOSTILE.img);
    await expect(hostile.locator('script, img').count()).resolves.toBe(0);
    const md = page.locator(`[data-msgid="${idOf('markdown')}"]`);
    await expect(md.locator('h2').innerText()).resolves.toBe('构建失败');
    await expect(md.locator('strong').first().innerText()).resolves.toBe('wecom-archive');
    await expect(md.locator('img, script, [onerror]').count()).resolves.toBe(0);
    await expect(md.locator('a[href^="javascript"]').count()).resolves.toBe(0);
    expect(await md.innerText()).toContain('<img src=x onerror=alert(4)>');
    for (const a of await md.locator('a').all()) await expect(a.getAttribute('rel')).resolves.toContain('noopener');
    // the javascript: link card has no button to follow it
    await expect(page.locator(`[data-msgid="${idOf('link', 1)}"] button`).count()).resolves.toBe(0);
    expect(problems.dialogs).toEqual([]);
  });

  it('asks before leaving for an external link, and opens nothing when cancelled', async () => {
    const md = page.locator(`[data-msgid="${idOf('markdown')}"]`);
    await md.locator('a', { hasText: '查看详情' }).click();
    const dialog = page.getByRole('dialog', { name: '即将离开会话存档' });
    await expect(dialog.innerText()).resolves.toContain('https://ci.example.com/build/1024');
    await dialog.getByRole('button', { name: '取消' }).click();
    await expect(dialog.count()).resolves.toBe(0);
    expect(context.pages()).toHaveLength(1);
  });

  it('opens an image whole, and plays a voice message at the chosen speed', async () => {
    await page.locator(`[data-msgid="${idOf('image')}"] button`).click();
    const full = page.locator('.image-body__full');
    await full.waitFor();
    await expect(
      full.evaluate((el) => {
        const img = el as unknown as PageImage;
        return img.complete && img.naturalWidth;
      }),
    ).resolves.toBe(96);
    await page.getByRole('button', { name: '关闭' }).click();
    await expect(full.count()).resolves.toBe(0);

    const voice = page.locator(`[data-msgid="${idOf('voice')}"]`);
    await voice.getByRole('button', { name: '2×' }).click();
    const played = await voice.locator('audio').evaluate(
      (el) =>
        new Promise<{ duration: number; rate: number }>((resolve, reject) => {
          const audio = el as unknown as PageAudio;
          audio.addEventListener('playing', () => resolve({ duration: audio.duration, rate: audio.playbackRate }), { once: true });
          audio.play().catch(reject);
        }),
    );
    expect(played.duration).toBeGreaterThan(0.9);
    expect(played.rate).toBe(2);
    await expect(voice.innerText()).resolves.toContain('时长 0:01');
  });

  it.skipIf(!HAVE_FFMPEG)('plays a video with seeking (needs ffmpeg to make the MP4)', async () => {
    const video = page.locator(`[data-msgid="${idOf('video', 1)}"] video`);
    await expect(video.getAttribute('controls')).resolves.not.toBeNull();
    const seeked = await video.evaluate(
      (el) =>
        new Promise<{ duration: number; at: number }>((resolve) => {
          const v = el as unknown as PageVideo;
          const seek = (): void => {
            v.addEventListener('seeked', () => resolve({ duration: v.duration, at: v.currentTime }), { once: true });
            v.currentTime = 1.5;
          };
          if (v.duration > 0) seek();
          else v.addEventListener('loadedmetadata', seek, { once: true });
        }),
    );
    expect(seeked.duration).toBeGreaterThan(1.9);
    expect(seeked.at).toBeCloseTo(1.5, 1);
  });

  it('jumps from a quote to its original and from a revoke to the message it recalled, which is marked', async () => {
    const reply = page.locator(`[data-msgid="${idOf('text', 2)}"]`);
    await expect(reply.locator('.quote').innerText()).resolves.toContain('周五下午三点开会');
    await expect(reply.locator('.text-body__content').innerText()).resolves.toBe('@张建国 收到');
    await reply.locator('.quote').click();
    await expect(page.locator(`[data-msgid="${idOf('text')}"]`).getAttribute('class')).resolves.toContain('is-highlighted');

    const recalled = page.locator(`[data-msgid="${idOf('text', 5)}"]`);
    await expect(recalled.locator('.badge').innerText()).resolves.toBe('已撤回');
    const revoke = page.locator(`[data-msgid="${idOf('revoke')}"]`);
    // the revoke line follows the message it recalled
    await expect(recalled.evaluate((el) => (el as unknown as { nextElementSibling: PageElement | null }).nextElementSibling?.getAttribute('data-msgid'))).resolves.toBe(
      idOf('revoke'),
    );
    await expect(revoke.innerText()).resolves.toContain('李露西 撤回了一条消息');
    await revoke.getByRole('button').click();
    const jumps = JSON.parse(await page.getByTestId('jumps').innerText()) as unknown[];
    expect(jumps).toEqual([{ msgid: idOf('text'), quotedUser: '张建国', quotedText: '周五下午三点开会' }, { msgid: idOf('text', 5) }]);
  });

  it('shows an unknown type raw on request, and switches to English', async () => {
    const unknown = page.locator(`[data-msgid="${idOf('future_type')}"]`);
    await unknown.getByRole('button', { name: '原始 JSON' }).click();
    expect(JSON.parse(await unknown.locator('pre').innerText())).toMatchObject({ msgtype: 'future_type', future_type: { foo: '未来的字段', count: 3 } });
    await page.getByTestId('lang-en').click();
    await expect(page.locator(`[data-msgid="${idOf('text', 5)}"] .badge`).innerText()).resolves.toBe('Recalled');
    await expect(page.locator(`[data-msgid="${idOf('video')}"]`).innerText()).resolves.toContain('The file has expired');
    await page.getByTestId('lang-zh').click();
  });

  it('holds its layout on a phone: nothing wider than the screen', async () => {
    // WEB_SCREENSHOTS=DIR saves the fixture conversation at both sizes, to look at it
    const shots = process.env.WEB_SCREENSHOTS;
    if (shots) await page.screenshot({ path: join(shots, 'messages-1440.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    const overflowing = await page.evaluate(() =>
      [...document.querySelectorAll('[data-msgid]')].filter((el) => el.getBoundingClientRect().right > 390).map((el) => el.getAttribute('data-msgid')),
    );
    expect(overflowing).toEqual([]);
    await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(390);
    if (shots) await page.screenshot({ path: join(shots, 'messages-390.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it('serves the app shell with history routes, under the CSP, in Chinese with an English switch', async () => {
    const app = await context.newPage();
    const appProblems = await watchProblems(app);
    await app.goto(`${server.url}/c/some-corp/some-conversation`);
    // this static server has no API: nobody is signed in, so the deep link waits behind the login page
    await app.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/c/some-corp/some-conversation');
    await expect(app.getByRole('heading').innerText()).resolves.toBe('登录会话存档');
    await app.getByRole('button', { name: '语言' }).click();
    await expect(app.getByRole('heading').innerText()).resolves.toBe('Sign in to the chat archive');
    const shots = process.env.WEB_SCREENSHOTS;
    if (shots) {
      await app.screenshot({ path: join(shots, 'shell-1440.png') });
      await app.setViewportSize({ width: 390, height: 844 });
      await app.screenshot({ path: join(shots, 'shell-390.png') });
    }
    expect(appProblems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
    await app.close();
  });

  it('ran the fixture page with no CSP violation, no script error and no dialog', () => {
    expect(problems).toEqual({ cspViolations: [], errors: [], dialogs: [] });
  });
});
