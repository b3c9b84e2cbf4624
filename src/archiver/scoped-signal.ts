import { setMaxListeners } from 'node:events';

/**
 * A signal of one piece of work's own, aborted with `outer`, that allows `listeners` listeners.
 * Work that starts many calls at once, each listening for the stop, hangs them on this signal, and
 * the outer one (the run's) gets a single listener, not one a call: Node warns of a leak past 10 on
 * one signal. `release()` takes that listener off when the work is over.
 */
export function scopedSignal(outer: AbortSignal | undefined, listeners: number): { signal: AbortSignal; release(): void } {
  const local = new AbortController();
  setMaxListeners(listeners, local.signal);
  const stop = (): void => local.abort(outer?.reason);
  if (outer?.aborted) stop();
  else outer?.addEventListener('abort', stop, { once: true });
  return { signal: local.signal, release: () => outer?.removeEventListener('abort', stop) };
}
