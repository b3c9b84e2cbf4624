import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take minutes, started before the rest. Without the results of an earlier run (a clean
 * clone, as CI's), Vitest starts the largest files first, and the crash test, short but the
 * longest (20 SIGKILLs on each database: 333 s), started 919 s into a 1,252 s run and ran alone at
 * its end. Started first, the two workers end within a minute of each other.
 */
const LONGEST = ['test/ingest/crash.test.ts'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const k = LONGEST.findIndex((path) => file.moduleId.endsWith(path));
      return k < 0 ? LONGEST.length : k;
    };
    // stable: the rest keep Vitest's order
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: on CI's 2 cores, one file at a time. Most
    // files wait on the databases, child processes or the browser, so two at once took the suite
    // from 1,163 s to 709 s there; every test file has its own databases, ports and temp folders
    maxWorkers: Math.max(2, availableParallelism() - 1),
    sequence: { sequencer: LongestFirst },
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
