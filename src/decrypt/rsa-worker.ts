/**
 * Worker thread of the RSA pool: RSA-2048 private decryption is the costliest step of ingest, so it
 * runs on every core while the main thread keeps pulling and writing.
 */
import type { KeyObject } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { ArchiveError } from '../errors/errors.ts';
import { decodeEncryptRandomKey, rsaPkcs1v15Decrypt } from '../vault/rsa-pkcs1.ts';
import type { RsaWorkerRequest, RsaWorkerResult } from './rsa-pool.ts';

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
