import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints the ten slowest test files (the suite must stay well inside CI's time; this says where to
 * trim), then one plain closing line, `tests: N passed, N failed, N skipped`, that any CI can read.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed += 1;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    const slowest = [...testModules].map((m) => ({ file: m.relativeModuleId, s: m.diagnostic().duration / 1000 })).sort((a, b) => b.s - a.s);
    if (slowest.length > 1)
      process.stdout.write(
        `\nslowest files:\n${slowest
          .slice(0, 10)
          .map((m) => `  ${m.s.toFixed(1).padStart(6)} s  ${m.file}`)
          .join('\n')}\n`,
      );
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
