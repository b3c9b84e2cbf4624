import type { App } from './app.ts';
import { DecryptStage } from '../decrypt/decrypt-stage.ts';
import { RsaPool } from '../decrypt/rsa-pool.ts';
import { createBackend } from '../sdk/create-backend.ts';

/**
 * Decrypts, right now, a corp's envelopes that were waiting and may succeed now (after `keys add`).
 * The requeue is committed first: if decryption cannot run here (SDK unreachable), the envelopes wait
 * again with that transient reason, and `run` tries them by itself when their backoff is over.
 */
export async function decryptWaiting(app: App, corpid: string, signal?: AbortSignal): Promise<{ requeued: number; messages: number; failures: number }> {
  const corp = await app.corps.get(corpid);
  const backend = createBackend(corp);
  const rsa = new RsaPool();
  try {
    const { db, dialect } = app.store;
    const stage = new DecryptStage({ db, dialect, backend, rsa, now: Date.now, loadKeys: (id) => app.keys.privateKeys(id) });
    const requeued = await stage.requeue(corpid);
    if ((await stage.backlog(corpid)) === 0) return { requeued, messages: 0, failures: 0 };
    const result = await stage.drain(corpid, signal);
    return { requeued, messages: result.messages, failures: result.failures };
  } finally {
    await backend.close().catch(() => undefined);
    await rsa.close();
  }
}
