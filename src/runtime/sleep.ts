/** Resolves after `ms`, or at once when `signal` aborts or `wake` is called (whichever first). */
export function sleep(ms: number, signal?: AbortSignal, wake?: { on(fn: () => void): () => void }): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      off?.();
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    const off = wake?.on(done);
  });
}

/** A wake-up bell: `ring()` ends the sleeps waiting on it. */
export class Bell {
  private readonly listeners = new Set<() => void>();
  ring(): void {
    for (const fn of [...this.listeners]) fn();
  }
  on(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
