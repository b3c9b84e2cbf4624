/**
 * Compiles the finance SDK test double (test/native/double) with the machine's C compiler into a
 * temporary directory, once per version of its sources: test files that run at the same time share
 * the result, and a half-written library is never seen (it is renamed into place when complete).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const SOURCE_DIR = new URL('./double/', import.meta.url).pathname;
const run = promisify(execFile);

export interface DoubleBuildOptions {
  /** build without GetIndexLen and IsMediaDataFinish, like a wrong or damaged library */
  incomplete?: boolean;
}

/** The absolute path of libWeWorkFinanceSdk_C.so built from the double's sources. */
export async function buildFinanceDouble(options: DoubleBuildOptions = {}): Promise<string> {
  const cc = process.env.CC || 'cc';
  const files = readdirSync(SOURCE_DIR)
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .sort();
  const flags = ['-shared', '-fPIC', '-fvisibility=hidden', '-O2', '-std=c11', '-Wall', '-Wextra', '-Werror', ...(options.incomplete ? ['-DWECOM_DOUBLE_INCOMPLETE'] : [])];
  const hash = createHash('sha256').update(cc).update(flags.join(' '));
  for (const f of files) hash.update(f).update(readFileSync(join(SOURCE_DIR, f)));
  const dir = join(tmpdir(), `wecom-archive-double-${hash.digest('hex').slice(0, 16)}`);
  const lib = join(dir, 'libWeWorkFinanceSdk_C.so');
  if (existsSync(lib)) return lib;
  mkdirSync(dir, { recursive: true });
  const partial = `${lib}.${process.pid}.${Date.now()}.tmp`;
  const sources = files.filter((f) => f.endsWith('.c')).map((f) => join(SOURCE_DIR, f));
  const args = [...flags, '-o', partial, ...sources, '-lpthread'];
  try {
    await run(cc, args).catch((err: NodeJS.ErrnoException) => {
      // `cc` is an alternative that some images lack while gcc is installed
      if (err.code === 'ENOENT' && !process.env.CC) return run('gcc', args);
      throw err;
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const hint = e.code === 'ENOENT' ? ` (no C compiler "${cc}": install one, e.g. apt-get install gcc, or set CC)` : '';
    throw new Error(`building the finance SDK test double failed${hint}: ${e.stderr || e.message}`, { cause: err });
  }
  renameSync(partial, lib);
  return lib;
}
