/**
 * Partial files of media downloads, written and hashed on a worker thread (partial-file-worker.mjs).
 *
 * Per 512 KB chunk, md5 and SHA-256 cost about 1 ms and the write system call a few hundred µs; on
 * the main thread that was most of what a download cost besides the HTTP exchange itself, and the
 * main thread also serves the database and the pulls. Here the main thread only hands the chunk
 * over (its memory is transferred, not copied, when the chunk owns it) and waits for the answer
 * that the bytes are written, so the stage's rule holds: a byte count is committed only after its
 * bytes are in the file. The answer moves the memory back, to hold a later chunk (chunk-memory.ts).
 *
 * Two workers (by default) serve every download of the process, each file staying on one, so a small
 * file's single exchange does not queue behind several large chunks; requests of one file are
 * handled in order, which is why an open need not be waited for. An idle worker does not keep the
 * process alive; a worker that dies fails what it held (those downloads are tried again from their
 * last committed chunk) and is replaced on the next request.
 */
import { Worker } from 'node:worker_threads';
import { isChunkMemory, recycleChunkMemory } from '../../sdk/chunk-memory.ts';
import { SNIFF_BYTES } from '../verify/content-sniff.ts';

const WORKER_URL = new URL('./partial-file-worker.mjs', import.meta.url);

export interface PartialDigest {
  md5: string;
  sha256: string;
  size: number;
  /** the first SNIFF_BYTES bytes, for the content type */
  head: Buffer;
}

export interface PartialFile {
  /**
   * Whether the file is open: false when a resumed file is missing or shorter than its committed
   * bytes. Waiting for it is only needed before relying on the kept bytes; writes queue behind it.
   */
  readonly opened: Promise<boolean>;
  /** Writes `data` at byte `at` (the file's end) and hashes it; resolves once it is written. */
  write(data: Buffer, at: number): Promise<void>;
  /** Writes the last `data` (if any) at `at`, closes the file and gives its digests; the file stays. */
  finish(data?: Buffer, at?: number): Promise<PartialDigest>;
  /** Closes the file without digests (the file stays); never rejects. */
  discard(): Promise<void>;
}

interface Reply {
  rid: number;
  ok: boolean;
  message?: string;
  code?: string;
  short?: boolean;
  md5?: string;
  sha256?: string;
  size?: number;
  head?: Uint8Array;
  /** the written chunk's memory, moved back to be used again */
  memory?: ArrayBuffer;
}

interface Pending {
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

/** One worker thread and the requests it has not answered yet. */
class Lane {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextRid = 1;
  /** files open on this lane (for spreading files over lanes) */
  files = 0;

  request(msg: Record<string, unknown>, transfer?: ArrayBuffer[]): Promise<Reply> {
    const worker = this.ensureWorker();
    const rid = this.nextRid++;
    return new Promise<Reply>((resolve, reject) => {
      this.pending.set(rid, {
        resolve: (reply) => {
          if (reply.ok) resolve(reply);
          else reject(Object.assign(new Error(reply.message ?? 'the partial-file worker failed'), { code: reply.code }));
        },
        reject,
      });
      // a busy worker keeps the process alive; an idle one does not
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ ...msg, rid }, transfer ?? []);
    });
  }

  /** Starts the worker now if it is not running, so a first request does not wait for it. */
  warm(): void {
    this.ensureWorker();
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the partial-file worker was closed'));
    await w?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // plain JavaScript with Node built-ins: no inherited --import (the tsx loader would give each
    // worker a module-hooks thread of its own and cost ~200 ms of start-up while the run begins)
    const worker = new Worker(WORKER_URL, { workerData: { headBytes: SNIFF_BYTES }, execArgv: [] });
    worker.on('message', (reply: Reply) => {
      // a written chunk's memory, moved back: kept for a later chunk
      if (reply.memory) recycleChunkMemory(reply.memory);
      const p = this.pending.get(reply.rid);
      if (!p) return;
      this.pending.delete(reply.rid);
      if (this.pending.size === 0) worker.unref();
      p.resolve(reply);
    });
    // the files it held are gone with it: their requests fail, their downloads resume from the
    // last committed chunk; the next request starts a new worker
    const gone = (why: string): void => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(new Error(why));
    };
    worker.on('error', (err) => gone(`the partial-file worker failed: ${err.message}`));
    worker.on('exit', (code) => gone(`the partial-file worker exited (${code})`));
    // after the listeners: adding a 'message' listener refs the worker again
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }
}

/** Chunk bytes as a message can move them: memory of their own, transferred rather than copied. */
function movable(data: Buffer): Buffer {
  // a chunk that owns its whole memory (what the SDK backends return) is moved as it is; it must
  // not be read after being handed over
  if (isChunkMemory(data.buffer) || (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer)) return data;
  // a slice of shared memory (e.g. Node's small-buffer pool) is copied into memory of its own
  const copy = Buffer.allocUnsafeSlow(data.length);
  data.copy(copy);
  return copy;
}

export class PartialFiles {
  private readonly lanes: Lane[];
  private nextFid = 1;

  /** `threads`: worker threads to spread files over (each file stays on one). */
  constructor(threads = 2) {
    this.lanes = Array.from({ length: Math.max(1, threads) }, () => new Lane());
  }

  /**
   * Opens `path` for a download: with `keep` 0 as a new empty file (its directory made if need
   * be), else cut back to its first `keep` bytes, which are hashed again. Returns at once; see
   * PartialFile.opened.
   */
  open(path: string, keep: number): PartialFile {
    const fid = this.nextFid++;
    const lane = this.lanes.reduce((a, b) => (b.files < a.files ? b : a));
    lane.files += 1;
    let done = false;
    const close = (): void => {
      if (done) return;
      done = true;
      lane.files -= 1;
    };
    const opened = lane.request({ op: 'open', fid, path, keep }).then((r) => !r.short);
    // a failed open also fails the file's next request, which is where it is seen
    opened.catch(() => undefined);
    return {
      opened,
      write: async (data, at) => {
        if (data.length === 0) return;
        const payload = movable(data);
        await lane.request({ op: 'write', fid, data: payload, at }, [payload.buffer as ArrayBuffer]);
      },
      finish: async (data, at) => {
        const payload = data && data.length > 0 ? movable(data) : undefined;
        const r = await lane.request({ op: 'finish', fid, data: payload, at }, payload ? [payload.buffer as ArrayBuffer] : []);
        close();
        const head = r.head ?? new Uint8Array(0);
        return { md5: r.md5!, sha256: r.sha256!, size: r.size!, head: Buffer.from(head.buffer, head.byteOffset, head.byteLength) };
      },
      discard: async () => {
        if (done) return;
        close();
        await lane.request({ op: 'discard', fid }).catch(() => undefined);
      },
    };
  }

  /**
   * Starts the workers ahead of the first download: a worker thread takes tens of ms to start, which
   * the first files of a run would otherwise wait for. Idle, they cost no CPU and keep nothing alive.
   */
  warm(): void {
    for (const lane of this.lanes) lane.warm();
  }

  /** Stops the workers; open files are failed. */
  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()));
  }
}

let shared: PartialFiles | undefined;

/** The process's partial-file workers, made on first use (idle ones cost no CPU and no exit delay). */
export function sharedPartialFiles(): PartialFiles {
  shared ??= new PartialFiles();
  return shared;
}
