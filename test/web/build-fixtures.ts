/**
 * Builds the UI and the fixture page together, with the UI's own vite settings, into a folder of
 * the test's: the fixture page is never part of dist/web.
 */
import { join } from 'node:path';
import vue from '@vitejs/plugin-vue';
import { build } from 'vite';
import { DEFINES } from '../../web/vite.config.ts';

const repo = join(import.meta.dirname, '..', '..');

/** Builds into `outDir`: the app at /web/index.html, the fixtures at /test/web/fixtures/index.html. */
export async function buildUiAndFixtures(outDir: string): Promise<void> {
  await build({
    configFile: false,
    root: repo,
    base: '/',
    plugins: [vue()],
    define: DEFINES,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      assetsInlineLimit: 0,
      modulePreload: { polyfill: false },
      reportCompressedSize: false,
      minify: false,
      rolldownOptions: {
        input: { app: join(repo, 'web/index.html'), fixtures: join(repo, 'test/web/fixtures/index.html') },
        // a slow machine's build is not a warning worth printing in every test run
        checks: { bundlerTimings: false },
      },
    },
  });
}
