/**
 * Worker thread of the RSA pool: RSA-2048 private decryption is the costliest step of ingest, so it
 * runs on every core while the main thread keeps pulling and writing.
 *
 * It runs at a lower priority than the main thread (RSA_WORKER_NICENESS). With one worker a core,
 * the workers and the main thread compete for the cores; the main thread feeds every stage (it
 * pulls, stores, indexes and answers the API), so when it waits for a core the workers soon run out
 * of envelopes and the cores idle. Niced, the workers take the time the main thread leaves.
 * bench:ingest, SQLite, 50,000 messages, 2 cores: with the search index on, 3,560–3,666 messages/s
 * niced (5 runs) against 3,214 and 3,262 (the machine idle 1.9–2.1 s instead of 4.4 s); with it
 * off, no change (3,783–4,309 against 4,134 and 4,273).
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { ArchiveError } from '../errors/errors.ts';
import { lowerThreadPriority } from '../runtime/thread-priority.ts';
import { decodeEncryptRandomKey, rsaPkcs1v15Decrypt } from '../vault/rsa-pkcs1.ts';
import { RSA_WORKER_NICENESS, type RsaWorkerRequest, type RsaWorkerResult } from './rsa-pool.ts';

lowerThreadPriority(RSA_WORKER_NICENESS);

const keys = new Map<string, KeyObject>();

parentPort?.on('message', (request: RsaWorkerRequest) => {
  if (request.type === 'keys') {
    for (const [version, key] of request.keys) keys.set(`${request.corpid}:${version}`, key);
    return;
  }
  const results: RsaWorkerResult[] = request.items.map((item) => {
    const key = keys.get(`${request.corpid}:${item.version}`);
    if (!key) return { error: { code: 'KEY_MISSING', message: `no private key of version ${item.version}` } };
    try {
      return { key: rsaPkcs1v15Decrypt(key, decodeEncryptRandomKey(item.encryptRandomKey)) };
    } catch (err) {
      const code = err instanceof ArchiveError ? err.code : 'RSA_DECRYPT_FAILED';
      return { error: { code, message: (err as Error).message } };
    }
  });
  parentPort!.postMessage({ id: request.id, results });
});
