import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ArchiveError } from '../errors/errors.ts';

export type RsaWorkerRequest =
  { type: 'keys'; corpid: string; keys: Array<[number, KeyObject]> } | { type: 'decrypt'; id: number; corpid: string; items: Array<{ version: number; encryptRandomKey: string }> };

/** The niceness of each RSA worker thread (rsa-worker.ts): below the main thread, which runs at the process's own (0 by default). */
export const RSA_WORKER_NICENESS = 10;

export type RsaWorkerResult = { key: Buffer | Uint8Array; error?: undefined } | { key?: undefined; error: { code: string; message: string } };

interface Pending {
  resolve(results: RsaWorkerResult[]): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, Pending>;
}

// From the sources (vitest, a benchmark, the CLI through tsx) this plain-JS entry registers tsx in
// the worker and loads rsa-worker.ts; in the compiled dist/ the file of the same name is
// rsa-worker.ts itself, compiled (scripts/build.mjs).
const WORKER_URL = new URL('./rsa-worker-entry.mjs', import.meta.url);

/**
 * RSA-decrypts `encrypt_random_key` values on worker threads, one per core by default, so the main
 * thread never blocks on RSA. Private keys are handed to the workers as KeyObjects and
 * live only in memory.
 */
export class RsaPool {
  private readonly slots: Slot[] = [];
  private readonly keys = new Map<string, Map<number, KeyObject>>();
  private nextId = 1;
  private closed = false;

  constructor(readonly size: number = availableParallelism()) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  /** Gives the workers a corp's private keys (replacing versions already known). */
  setKeys(corpid: string, keys: ReadonlyMap<number, KeyObject>): void {
    this.keys.set(corpid, new Map(keys));
    for (const slot of this.slots) slot.worker.postMessage({ type: 'keys', corpid, keys: [...keys] } satisfies RsaWorkerRequest);
  }

  hasKey(corpid: string, version: number): boolean {
    return this.keys.get(corpid)?.has(version) ?? false;
  }

  /** Decrypts a batch, spread over the workers; results come back in input order. */
  async decrypt(corpid: string, items: ReadonlyArray<{ version: number; encryptRandomKey: string }>): Promise<RsaWorkerResult[]> {
    if (items.length === 0) return [];
    const share = Math.ceil(items.length / this.slots.length);
    const parts: Array<Promise<RsaWorkerResult[]>> = [];
    for (let start = 0; start < items.length; start += share) parts.push(this.run(corpid, items.slice(start, start + share)));
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private run(corpid: string, items: Array<{ version: number; encryptRandomKey: string }>): Promise<RsaWorkerResult[]> {
    if (this.closed) return Promise.reject(new ArchiveError('RSA_POOL_CLOSED', 'the RSA pool is closed'));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    slot.busy += items.length;
    // An idle worker must not keep the process alive, a busy one must: a caller awaiting its
    // results may be the only thing left running.
    slot.worker.ref();
    const settle = () => {
      slot.busy -= items.length;
      if (slot.pending.size === 0) slot.worker.unref();
    };
    return new Promise<RsaWorkerResult[]>((resolve, reject) => {
      slot.pending.set(id, {
        resolve: (r) => {
          settle();
          resolve(r);
        },
        reject: (e) => {
          settle();
          reject(e);
        },
      });
      slot.worker.postMessage({ type: 'decrypt', id, corpid, items } satisfies RsaWorkerRequest);
    });
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_URL);
    const slot: Slot = { worker, busy: 0, pending: new Map() };
    worker.on('message', (msg: { id: number; results: RsaWorkerResult[] }) => {
      const p = slot.pending.get(msg.id);
      slot.pending.delete(msg.id);
      p?.resolve(msg.results);
    });
    const fail = (err: Error) => {
      for (const p of slot.pending.values()) p.reject(new ArchiveError('RSA_WORKER_DIED', `an RSA worker stopped: ${err.message}`, { cause: err }));
      slot.pending.clear();
      if (this.closed) return;
      // Replace the dead worker and give it the keys; the failed batch is retried by its caller.
      const index = this.slots.indexOf(slot);
      if (index >= 0) {
        const fresh = this.spawn();
        this.slots[index] = fresh;
        for (const [corpid, keys] of this.keys) fresh.worker.postMessage({ type: 'keys', corpid, keys: [...keys] } satisfies RsaWorkerRequest);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`exit code ${code}`));
    });
    worker.unref();
    return slot;
  }
}
