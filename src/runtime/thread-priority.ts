/**
 * Scheduling priority of the calling thread. Linux schedules each thread on its own, and a thread
 * may always lower its own priority (raise its niceness) without any privilege; elsewhere, or
 * where /proc is not mounted, nothing changes.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** The calling thread's id on Linux (from /proc/thread-self), undefined where there is none. */
function threadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gives the calling thread the niceness `niceness` (1–19: the higher, the later it runs when cores
 * are short) unless it already runs at least that nicely; where threads cannot be told apart, or
 * the system refuses, the thread keeps its priority.
 */
export function lowerThreadPriority(niceness: number): void {
  const tid = threadId();
  if (tid === undefined) return;
  try {
    if (getPriority(tid) < niceness) setPriority(tid, niceness);
  } catch {
    // keeps its priority: a slower pipeline, never a failed one
  }
}
