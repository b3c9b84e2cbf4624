/**
 * The web UI's files through the HTTP edge (inject, over a small stand-in build): types and cache
 * headers, deep links answered with index.html, the server's own prefixes kept as JSON 404s, no
 * path out of the folder, and a clear 503 when the UI is not built. The real build in a browser is
 * web-ui-served.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { defaultWebRoot } from '../../src/api/web-routes.ts';
import type { App } from '../../src/app/app.ts';
import { createLogger } from '../../src/app/logger.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';

const INDEX = '<!doctype html><title>app shell</title><script type="module" src="/assets/index-Abc123.js"></script>';
const SCRIPT = 'console.log("app")';

let database: TestDatabase;
let store: Store;
let app: App;
const dir = mkdtempSync(join(tmpdir(), 'wa-web-'));
const root = join(dir, 'web');
beforeAll(async () => {
  database = await createTestDatabase('sqlite');
  store = await openStore(database.url);
  app = appWithEnv(store);
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(join(root, 'assets', 'index-Abc123.js'), SCRIPT);
  writeFileSync(join(root, 'assets', 'index-Def456.css'), 'body{}');
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  writeFileSync(join(root, '.env'), 'HIDDEN=1');
  // outside the served folder: what a traversal would be after
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET');
  symlinkSync(join(dir, 'secret.txt'), join(root, 'assets', 'linked.txt'));
});
afterAll(async () => {
  await store.close();
  await database.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function server(webRoot: string): Promise<ApiInstance> {
  const api = await buildApi(app, createLogger('silent'), { webRoot });
  await api.ready();
  return api;
}

describe('the web UI served at /', () => {
  it('serves files with their types, a year of cache for hashed assets and revalidation for the rest, under the CSP', async () => {
    const api = await server(root);
    const index = await api.inject({ method: 'GET', url: '/' });
    expect(index.statusCode).toBe(200);
    expect(index.body).toBe(INDEX);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['x-content-type-options']).toBe('nosniff');

    const script = await api.inject({ method: 'GET', url: '/assets/index-Abc123.js' });
    expect(script.statusCode).toBe(200);
    expect(script.body).toBe(SCRIPT);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['content-length']).toBe(String(SCRIPT.length));
    expect(script.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await api.inject({ method: 'GET', url: '/assets/index-Def456.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const icon = await api.inject({ method: 'GET', url: '/favicon.svg' });
    expect([icon.statusCode, icon.headers['content-type'], icon.headers['cache-control']]).toEqual([200, 'image/svg+xml', 'no-cache']);

    // revalidation: the same file answers 304 to its own ETag
    const again = await api.inject({ method: 'GET', url: '/', headers: { 'if-none-match': String(index.headers.etag) } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const head = await api.inject({ method: 'HEAD', url: '/assets/index-Abc123.js' });
    expect([head.statusCode, head.headers['content-length'], head.body]).toEqual([200, String(SCRIPT.length), '']);
    await api.close();
  });

  it("answers the app's pages (deep links) with index.html, and the server's own paths with JSON 404s", async () => {
    const api = await server(root);
    for (const url of ['/c/wwabc123/room:xyz', '/search?q=%E5%90%88%E5%90%8C', '/settings/', '/c/ww1/x.y']) {
      const res = await api.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(INDEX);
      expect(res.headers['cache-control'], url).toBe('no-cache');
    }
    for (const url of ['/api/nothing/here', '/api', '/callback/ww1/app', '/metrics', '/readyz', '/healthz/more', '/assets/index-Old999.js']) {
      const res = await api.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ error: 'NOT_FOUND' });
    }
    // the probes that exist still answer as themselves
    expect((await api.inject({ method: 'GET', url: '/healthz' })).json()).toMatchObject({ ok: true });
    // only GET and HEAD: another method on a page is no route
    expect((await api.inject({ method: 'POST', url: '/c/ww1/x', payload: {} })).statusCode).toBe(404);
    await api.close();
  });

  it('never serves a file outside its folder, a hidden file, or a link out of it', async () => {
    const api = await server(root);
    const urls = [
      '/..%2f..%2fetc/passwd',
      '/assets/../../package.json',
      '/assets/..%2f..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/.env',
      '/assets/linked.txt',
      '/%00index.html',
    ];
    for (const url of urls) {
      const res = await api.inject({ method: 'GET', url });
      expect(res.body, url).not.toContain('TOP-SECRET');
      expect(res.body, url).not.toContain('root:');
      expect(res.body, url).not.toContain('"name": "wecom-archive"');
      expect(res.body, url).not.toContain('HIDDEN');
      // refused, or (a path the URL parser resolved into the folder) the app shell
      expect([400, 404, 200], url).toContain(res.statusCode);
      if (res.statusCode === 200) expect(res.body, url).toBe(INDEX);
    }
    await api.close();
  });

  it('answers 503 saying to run `npm run build` when the UI is not built, the API unaffected', async () => {
    const api = await server(join(dir, 'not-built'));
    for (const url of ['/', '/c/ww1/x']) {
      const res = await api.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(503);
      expect(res.json(), url).toEqual({ error: 'WEB_UI_NOT_BUILT', message: expect.stringContaining('npm run build') });
    }
    expect((await api.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await api.close();
  });

  it("finds dist/web under the package's root from the sources and from a bundle in dist/, as the build makes it", async () => {
    expect(defaultWebRoot()).toBe(join(import.meta.dirname, '..', '..', 'dist', 'web'));
    // the build's layout (also the Docker image's, /app/dist/…): the bundle sits in dist/, package.json one up
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"name":"wecom-archive","type":"module"}');
    buildSync({
      entryPoints: [join(import.meta.dirname, '..', '..', 'src', 'api', 'web-routes.ts')],
      outfile: join(pkg, 'dist', 'wecom-archive.mjs'),
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'warning',
    });
    const bundled = (await import(pathToFileURL(join(pkg, 'dist', 'wecom-archive.mjs')).href)) as { defaultWebRoot(): string };
    expect(bundled.defaultWebRoot()).toBe(join(pkg, 'dist', 'web'));
  });
});
