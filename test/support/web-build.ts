/**
 * The web UI built once for the browser tests, with its own settings (web/vite.config.ts, as
 * `npm run build` uses them), into a folder named after a fingerprint of what the build reads: the
 * files under web/ and package-lock.json. Test files running side by side wait for one build instead
 * of each building its own, and a later run over the same sources uses that build again.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build } from 'vite';

const repo = join(import.meta.dirname, '..', '..');
/** a lock older than this was left by a test run that died mid-build */
const STALE_LOCK_MS = 10 * 60_000;

/** The folder holding the built UI (its index.html and assets), built first if need be. */
export async function builtUi(): Promise<string> {
  const out = join(tmpdir(), `wa-web-ui-${fingerprint()}`);
  const lock = `${out}.lock`;
  for (;;) {
    if (existsSync(join(out, 'index.html'))) return out;
    if (takeLock(lock)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    // built beside and renamed into place, so a waiting test file never sees half a build
    const partial = `${out}.partial-${process.pid}`;
    await build({ configFile: join(repo, 'web/vite.config.ts'), logLevel: 'warn', build: { outDir: partial, emptyOutDir: true } });
    renameSync(partial, out);
    return out;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function takeLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const held = statSync(lock, { throwIfNoEntry: false });
    if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
    return false;
  }
}

/** SHA-256 over the path and bytes of every file under web/ (but its build output) and the lockfile. */
function fingerprint(): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'dist') walk(path);
      } else if (entry.isFile()) {
        hash.update(relative(repo, path)).update('\0').update(readFileSync(path)).update('\0');
      }
    }
  };
  walk(join(repo, 'web'));
  hash.update(readFileSync(join(repo, 'package-lock.json')));
  return hash.digest('hex').slice(0, 20);
}
