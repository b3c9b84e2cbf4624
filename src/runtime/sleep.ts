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

/**
 * A wake-up bell: `ring()` ends the sleeps waiting on it. A ring that finds no sleeper is kept for
 * the next one, which then returns at once: a loop that is busy (between its check for work and its
 * sleep) when the ring comes does not sleep through it.
 */
export class Bell {
  private readonly listeners = new Set<() => void>();
  private missed = false;
  ring(): void {
    if (this.listeners.size === 0) {
      this.missed = true;
      return;
    }
    for (const fn of [...this.listeners]) fn();
  }
  on(fn: () => void): () => void {
    if (this.missed) {
      this.missed = false;
      queueMicrotask(fn);
      return () => undefined;
    }
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
