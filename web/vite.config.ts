/**
 * The web UI's build. Output goes to dist/web, which the server serves at `/`. Everything is
 * bundled (no CDN, no external fonts) so the UI works on an intranet, and nothing needs eval or
 * inline script, so it runs under the server's strict CSP.
 */
import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig, type UserConfig } from 'vite';

const webRoot = fileURLToPath(new URL('.', import.meta.url));

/** Compile-time flags of Vue and vue-i18n: no options API, no devtools hooks in production. */
export const DEFINES = {
  __VUE_OPTIONS_API__: 'false',
  __VUE_PROD_DEVTOOLS__: 'false',
  __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
  __VUE_I18N_FULL_INSTALL__: 'false',
  __VUE_I18N_LEGACY_API__: 'false',
  __INTLIFY_PROD_DEVTOOLS__: 'false',
  __INTLIFY_JIT_COMPILATION__: 'true',
  __INTLIFY_DROP_MESSAGE_COMPILER__: 'false',
};

export const baseConfig: UserConfig = {
  root: webRoot,
  base: '/',
  plugins: [vue()],
  define: DEFINES,
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // inline assets would be data: URLs in CSS/JS; files keep the CSP's sources plain
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rolldownOptions: { checks: { bundlerTimings: false } },
  },
  logLevel: 'warn',
};

export default defineConfig(baseConfig);
