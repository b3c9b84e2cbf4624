import { afterEach } from 'vitest';
import { type RunningSimulator, startSimulator } from '../../src/simulator/server.ts';

/**
 * Registers an afterEach hook that closes every simulator the returned function started during the
 * test, and returns that function (`startSimulator` with the same options). Call once per test file,
 * at its top level.
 */
export function useSimulators(): (opts?: Parameters<typeof startSimulator>[0]) => Promise<RunningSimulator> {
  const sims: RunningSimulator[] = [];
  afterEach(async () => {
    for (const sim of sims.splice(0)) await sim.close();
  });
  return async (opts) => {
    const sim = await startSimulator(opts);
    sims.push(sim);
    return sim;
  };
}
