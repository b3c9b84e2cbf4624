import { expect } from 'vitest';
import { createApp, type App } from '../../src/app/app.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { createLogger } from '../../src/app/logger.ts';
import { runArchive, type RunOptions } from '../../src/app/archive-runner.ts';
import type { ArchiverTiming, CorpProgress } from '../../src/archiver/corp-archiver.ts';
import { loadConfig } from '../../src/config/config.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import { exponentialBackoff } from '../../src/runtime/backoff.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { rsaPemPair } from './rsa-pem.ts';

let wrongKey: string | undefined;

/**
 * A private key (PKCS#8 PEM) that opens none of the simulator's envelopes, every time: 3072 bits
 * against its 2048-bit ciphertexts, so each one fails on its length (rsa_failed). A wrong key of
 * the simulator's size fails on the padding instead, except that a block decrypted with it passes
 * that check by chance about once in 10^5 (it starts 0x00 0x02); its envelope then fails later,
 * on DecryptData or on the JSON, with another reason.
 */
export function wrongKeyPem(): string {
  // one a test process: a 3072-bit key takes about a second to make
  wrongKey ??= rsaPemPair(3072).privateKey;
  return wrongKey;
}

/** Fast timings for tests: the same loops, shorter waits. */
export const FAST_TIMING: Partial<ArchiverTiming> = {
  pollIntervalMs: 50,
  minCallIntervalMs: 0,
  backoff: exponentialBackoff(5, 50),
  stoppedRetryMs: 60_000,
  requeueIntervalMs: 60_000,
  decryptBackoff: { firstDelayMs: 5, maxDelayMs: 50 },
  onceRetryMs: 5_000,
  onceMaxFailures: 50,
};

export function appOn(store: Store, env: Readonly<Record<string, string>> = {}): App {
  return createApp(loadConfig({}, env, '/tmp'), store, Buffer.alloc(32, 3));
}

/** Registers a simulator's corp (and, unless limited, all its private keys) in the archive. */
export async function addSimulatorCorp(app: App, sim: RunningSimulator, options: { keyVersions?: number[]; limit?: number; timeoutS?: number } = {}): Promise<void> {
  await registerCorps(app, [simulatorCorp(sim, { ...options, apiSecrets: false, callbackApps: false })]);
}

export async function archiveOnce(app: App, timing: Partial<ArchiverTiming> = FAST_TIMING, createBackend?: RunOptions['createBackend']): Promise<CorpProgress[]> {
  return runArchive(app, createLogger('silent'), new AbortController().signal, { once: true, timing, ...(createBackend ? { createBackend } : {}) });
}

/** `count` envelopes are stored and every one is handled: none is left to decrypt, none waits. */
export async function expectEnvelopesDecrypted(db: Kysely<Database>, corpid: string, count: number): Promise<void> {
  const stored = await db
    .selectFrom('envelopes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('corpid', '=', corpid)
    .executeTakeFirstOrThrow();
  expect(Number(stored.n)).toBe(count);
  const status = (await corpStatuses(db, Date.now())).find((s) => s.corpid === corpid);
  expect(status).toMatchObject({ pending: 0, waiting: [] });
}

/** Every message the simulator has is archived exactly once, with its exact plaintext and seq. */
export async function expectArchivedExactly(app: App, sim: RunningSimulator, count: number): Promise<void> {
  const rows = await app.store.db.selectFrom('messages').select(['msgid', 'seq', 'raw']).where('corpid', '=', sim.corp.corpid).orderBy('seq').execute();
  expect(rows.length).toBe(count);
  for (const [i, row] of rows.entries()) {
    expect(row.msgid).toBe(sim.msgidOf(i));
    expect(decodeSeq(row.seq)).toBe(sim.seqOf(i));
    expect(Buffer.from(row.raw).equals(sim.plaintextOf(i)), `message ${i}`).toBe(true);
  }
}
