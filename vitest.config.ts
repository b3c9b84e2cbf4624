import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that take minutes, started before the rest. Without the results of an earlier run (a clean
 * clone, as CI's), Vitest starts the largest files first, and the crash test, short but the
 * longest (20 SIGKILLs on each database: 333 s), started 919 s into a 1,252 s run and ran alone for
 * its last 40 s. That run's file times, replayed on two workers, end 62 s sooner with it first.
 */
const LONGEST = ['test/ingest/crash.test.ts'];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const later = (file: TestSpecification) => (LONGEST.some((path) => file.moduleId.endsWith(path)) ? 0 : 1);
    // stable: within each part, Vitest's order
    return (await super.sort(files)).sort((a, b) => later(a) - later(b));
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
