import { setMaxListeners } from 'node:events';

/** Why a signal stopped the work: its own reason, or a plain AbortError when it was given none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

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
