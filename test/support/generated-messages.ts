import { buildCorpDirectory } from '../../src/simulator/core/corp-directory.ts';
import { MessageGenerator } from '../../src/simulator/core/generator.ts';
import { MediaPool } from '../../src/simulator/sdk/media-pool.ts';
import { seedMaterial } from '../../src/simulator/core/prng.ts';
import { voiceSamples } from '../../src/simulator/sdk/voice-samples.ts';

/**
 * The plaintext JSON of simulated messages 0…count-1, of every type, without starting a simulator
 * (no RSA keys, no envelopes): for tests and benchmarks of what is done with decrypted messages.
 */
export async function generatedPlaintexts(seed: string, count: number): Promise<Buffer[]> {
  const material = seedMaterial(seed);
  const media = new MediaPool(material);
  media.prepare(await voiceSamples());
  const generator = new MessageGenerator(material, buildCorpDirectory(material), media);
  const ctx = { isGenerated: (j: number) => j >= 0 && j < count, msgidOf: (j: number) => generator.msgid(j, START_MS + j * 1000) };
  return Array.from({ length: count }, (_, i) => generator.generate(i, START_MS + i * 1000, ctx).plaintext);
}

const START_MS = Date.UTC(2026, 0, 5, 9, 0, 0);
