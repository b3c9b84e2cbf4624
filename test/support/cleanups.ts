import { afterEach } from 'vitest';

/**
 * Registers an afterEach hook that runs what the test deferred, the last deferred first (an archive
 * stops before the simulator it talks to closes), and returns the function that defers. Call once
 * per test file, at its top level.
 */
export function useCleanups(): (...cleanups: Array<() => unknown>) => void {
  const deferred: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of deferred.splice(0).reverse()) await cleanup();
  });
  return (...cleanups) => void deferred.push(...cleanups);
}
