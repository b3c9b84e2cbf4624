/**
 * The timeline's budgets in chromium, against a SQLite archive of N messages (1,000,000 by default)
 * in --rooms group conversations (100) of N/rooms messages each, served by the real API and the built UI:
 * - first_paint_ms: from navigating to a conversation's permalink-free address (`/c/CORP/KEY`, a
 *   fresh page load, signed in) to its newest messages on screen, median and max of --rounds;
 * - home_ms: from `/` (home, which goes to the first corp) to the conversation list on screen;
 * - scrolling up through --scroll messages (10,000 by default), page after page as a reader would:
 *   the most DOM nodes the page held at any point, and the time it took.
 * Budgets: first paint under 1.5 s, DOM under 2,000 nodes. Prints one JSON line.
 *
 *   npm run bench:web-timeline -- [--messages 1000000] [--rooms 100] [--scroll 10000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'vite';
import { buildApi } from '../src/api/build-api.ts';
import { createLogger } from '../src/app/logger.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { encodeSeq } from '../src/store/seq-codec.ts';
import { appWithEnv } from '../test/callbacks/harness.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { seededRng } from '../test/support/test-seed.ts';
import { baseConfig } from '../web/vite.config.ts';
import { LOAD_BATCH } from './support/bulk-store.ts';
import { CORP, messageRow, START } from './support/text-rows.ts';

// In-page callbacks see the browser's objects; this file is type-checked without the DOM library.
declare const document: { getElementsByTagName(name: string): { length: number }; querySelector(selector: string): { scrollTop: number } | null };

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000000' },
    scroll: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '5' },
    rooms: { type: 'string', default: '100' },
  },
});
const count = Number(values.messages);
const scrollTarget = Number(values.scroll);
const rounds = Number(values.rounds);
const ROOMS = Number(values.rooms);
if (!Number.isInteger(count) || count < ROOMS * 100) throw new Error(`--messages must be an integer of at least ${ROOMS * 100}`);
const FIRST_PAINT_BUDGET_MS = 1500;
const DOM_BUDGET = 2000;

const dir = mkdtempSync(join(tmpdir(), 'wa-bench-web-timeline-'));

/** Messages, and the conversation summary rows the decrypt commit would have kept for them. */
async function load(store: Store): Promise<number> {
  const rng = seededRng('bench-web-timeline');
  const t0 = performance.now();
  for (let i = 0; i < count; i += LOAD_BATCH) {
    const rows = Array.from({ length: Math.min(LOAD_BATCH, count - i) }, (_, k) => messageRow(i + k, rng, ROOMS));
    await store.db.transaction().execute((trx) => store.dialect.insertIgnoring(trx, 'messages', rows, ['corpid', 'msgid']));
  }
  const summaries = Array.from({ length: ROOMS }, (_, r) => {
    const last = r + ROOMS * Math.floor((count - 1 - r) / ROOMS);
    return {
      corpid: CORP,
      conversation_key: `room:r${r}`,
      kind: 'group' as const,
      roomid: `r${r}`,
      message_count: Math.ceil((count - r) / ROOMS),
      first_msgtime: START + r * 1000,
      last_msgtime: START + last * 1000,
      last_seq: encodeSeq(BigInt(last + 1)),
      last_msgid: `bench${last}`,
    };
  });
  await store.db.insertInto('conversations').values(summaries).execute();
  const participants = summaries.flatMap((s, r) =>
    Array.from({ length: 50 }, (_, u) => u)
      .filter((u) => u % 2 === r % 2)
      .map((u) => ({ corpid: CORP, conversation_key: s.conversation_key, userid: `u${u}` })),
  );
  await store.db.insertInto('conversation_participants').values(participants).execute();
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  const store = await openStore(`sqlite:${join(dir, 'archive.db')}`);
  const app = appWithEnv(store);
  await app.corps.add({ corpid: CORP, secret: 'archive-secret', sdk: { kind: 'simulator', url: 'http://127.0.0.1:9' }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 5 });
  const [loadSeconds] = await Promise.all([load(store), build({ ...baseConfig, configFile: false, logLevel: 'error', build: { ...baseConfig.build, outDir: join(dir, 'web') } })]);
  await app.access.admin.addUser({ username: 'bench' }, { username: 'reader', role: 'admin', password: 'correct horse battery', grants: [] });
  const api = await buildApi(app, createLogger('silent'), { webRoot: join(dir, 'web'), access: { authenticator: app.access.accounts, audit: app.access.audit } });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.locator('input[name=username]').fill('reader');
    await page.locator('input[name=password]').fill('correct horse battery');
    await page.locator('button[type=submit]').click();
    await page.waitForURL((url) => url.pathname.startsWith('/c/'));

    // the newest conversation is the one a reader meets first
    const key = `room:r${(count - 1) % ROOMS}`;
    const firstPaint: number[] = [];
    const home: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const t0 = performance.now();
      await page.goto(`${base}/c/${CORP}/${encodeURIComponent(key)}`);
      await page.locator('[data-test=timeline-scroller] .message').first().waitFor();
      firstPaint.push(performance.now() - t0);
      const t1 = performance.now();
      await page.goto(`${base}/`);
      await page.locator('.conv-item').first().waitFor();
      home.push(performance.now() - t1);
    }

    // scroll up page after page until --scroll messages are loaded, counting the DOM as it goes
    await page.goto(`${base}/c/${CORP}/${encodeURIComponent(key)}`);
    await page.locator('[data-test=timeline-scroller] .message').first().waitFor();
    const timeline = page.locator('[data-test=timeline]');
    let maxNodes = 0;
    let loaded = 0;
    const t2 = performance.now();
    for (let steps = 0; loaded < scrollTarget && steps < 20 * (scrollTarget / 50); steps++) {
      await page.evaluate(() => {
        const el = document.querySelector('[data-test=timeline-scroller]')!;
        el.scrollTop = Math.max(0, el.scrollTop - 2000);
      });
      await page.waitForTimeout(30);
      maxNodes = Math.max(maxNodes, await page.evaluate(() => document.getElementsByTagName('*').length));
      loaded = Number(await timeline.getAttribute('data-loaded'));
      if ((await timeline.getAttribute('data-has-older')) !== 'true') break;
    }
    const scrollSeconds = (performance.now() - t2) / 1000;
    console.log(
      JSON.stringify({
        messages: count,
        conversation_messages: Math.ceil(count / ROOMS),
        load_s: Number(loadSeconds.toFixed(1)),
        first_paint_ms: { median: Math.round(median(firstPaint)), max: Math.round(Math.max(...firstPaint)), rounds },
        home_to_list_ms: { median: Math.round(median(home)), max: Math.round(Math.max(...home)) },
        scroll: { messages_loaded: loaded, max_dom_nodes: maxNodes, seconds: Number(scrollSeconds.toFixed(1)) },
        budgets: { first_paint_ms: FIRST_PAINT_BUDGET_MS, dom_nodes: DOM_BUDGET },
        within_budget: median(firstPaint) < FIRST_PAINT_BUDGET_MS && maxNodes < DOM_BUDGET && loaded >= scrollTarget,
      }),
    );
    await context.close();
  } finally {
    await browser.close();
    await api.close();
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
