/**
 * Converts voice files on a worker thread, one at a time (they are small; the point is to keep CPU
 * work off the main thread). The worker starts on first use and is replaced if it dies or hangs.
 */
import { Worker } from 'node:worker_threads';
import type { VoiceFormat } from '../verify/content-sniff.ts';
import type { TranscodeFailure, TranscodeResult } from './voice-transcode.ts';
import type { VoiceJob } from './voice-worker.ts';

const WORKER_URL = new URL('./voice-worker-entry.mjs', import.meta.url);
const TIMEOUT_MS = 120_000;

interface Pending {
  resolve(result: TranscodeResult | TranscodeFailure): void;
  timer: NodeJS.Timeout;
}

export class VoiceConverter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  /** `ffmpeg`: path of an ffmpeg binary for AMR-WB, or null (config.media.ffmpeg). */
  constructor(private readonly ffmpeg: string | null) {}

  /** Converts `inputFile` to MP3 at `outputFile`; never rejects (a failure carries its reason). */
  convert(inputFile: string, format: VoiceFormat, outputFile: string): Promise<TranscodeResult | TranscodeFailure> {
    if (this.closed) return Promise.resolve({ ok: false, reason: 'the voice converter is closed' });
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, reason: `voice conversion took more than ${TIMEOUT_MS / 1000} s` });
        this.restart();
      }, TIMEOUT_MS);
      this.pending.set(id, { resolve, timer });
      // a busy worker keeps the process alive; an idle one does not
      worker.ref();
      worker.postMessage({ id, inputFile, format, outputFile, ffmpeg: this.ffmpeg } satisfies VoiceJob);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll('the voice converter was closed');
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_URL);
    worker.on('message', (msg: { id: number; result: TranscodeResult | TranscodeFailure }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      clearTimeout(p.timer);
      this.pending.delete(msg.id);
      if (this.pending.size === 0) worker.unref();
      p.resolve(msg.result);
    });
    const gone = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.failAll(why);
    };
    worker.on('error', (err) => gone(`the voice worker failed: ${err.message}`));
    worker.on('exit', (code) => gone(`the voice worker exited (${code})`));
    // after the listeners: adding a 'message' listener refs the worker again
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private restart(): void {
    const w = this.worker;
    this.worker = undefined;
    this.failAll('the voice worker was restarted');
    void w?.terminate();
  }

  private failAll(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.resolve({ ok: false, reason });
      this.pending.delete(id);
    }
  }
}
