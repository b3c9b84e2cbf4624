import { randomInt } from 'node:crypto';
import { type Rng, rngFor, seedMaterial } from '../../src/simulator/core/prng.ts';

/**
 * The seed of a test's random choices: the one in the environment variable `envName` when it is
 * set, to replay a failure, else a fresh one. It is printed either way, so a failure can be replayed
 * with `envName=seed`.
 */
export function testSeed(envName: string, what: string): string {
  const given = process.env[envName]?.trim();
  const seed = given || String(randomInt(1, 2 ** 31));
  console.log(`${what}: seed ${seed} (replay with ${envName}=${seed})`);
  return seed;
}

/** A generator of its own for each `stream` (one per database, say) drawn from `seed`. */
export function seededRng(seed: string, stream = 0): Rng {
  return rngFor(seedMaterial(seed).seed32, 0, stream);
}
