/**
 * Web UI size benchmark. Builds the UI as `npm install` does (minified, into a temporary folder),
 * then prints one JSON line with the build time and the gzipped bytes of JS and CSS that the first
 * load fetches: everything index.html references (its script, stylesheets and module preloads).
 * `message_page` is the same for the fixture page, which holds every message component, so the
 * figure for a page that renders messages is known before the timeline exists. Budget: 400 KB.
 *
 *   npm run bench:web
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { baseConfig } from '../web/vite.config.ts';

const BUDGET_BYTES = 400 * 1024;
const repo = join(import.meta.dirname, '..');
const out = mkdtempSync(join(tmpdir(), 'wa-bench-web-'));

/** gzipped size of the JS and CSS an HTML page references (level 9, as a server's static gzip would). */
function firstLoad(htmlPath: string): { js_gzip_bytes: number; css_gzip_bytes: number; files: number } {
  const html = readFileSync(htmlPath, 'utf8');
  const refs = new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1] as string));
  let js = 0;
  let css = 0;
  for (const ref of refs) {
    const size = gzipSync(readFileSync(join(out, ref)), { level: 9 }).length;
    if (ref.endsWith('.css')) css += size;
    else js += size;
  }
  return { js_gzip_bytes: js, css_gzip_bytes: css, files: refs.size };
}

try {
  const started = performance.now();
  await build({
    ...baseConfig,
    configFile: false,
    root: repo,
    logLevel: 'error',
    build: {
      ...baseConfig.build,
      outDir: out,
      rolldownOptions: { ...baseConfig.build?.rolldownOptions, input: { app: join(repo, 'web/index.html'), messages: join(repo, 'test/web/fixtures/index.html') } },
    },
  });
  const buildSeconds = (performance.now() - started) / 1000;
  const app = firstLoad(join(out, 'web/index.html'));
  const messages = firstLoad(join(out, 'test/web/fixtures/index.html'));
  const total = (f: { js_gzip_bytes: number; css_gzip_bytes: number }): number => f.js_gzip_bytes + f.css_gzip_bytes;
  const allAssets = readdirSync(join(out, 'assets')).reduce((sum, name) => sum + gzipSync(readFileSync(join(out, 'assets', name)), { level: 9 }).length, 0);
  console.log(
    JSON.stringify({
      build_s: Number(buildSeconds.toFixed(2)),
      first_load: { ...app, total_gzip_bytes: total(app) },
      message_page: { ...messages, total_gzip_bytes: total(messages) },
      all_assets_gzip_bytes: allAssets,
      budget_bytes: BUDGET_BYTES,
      within_budget: total(app) <= BUDGET_BYTES && total(messages) <= BUDGET_BYTES,
    }),
  );
} finally {
  rmSync(out, { recursive: true, force: true });
}
