/**
 * Memory for GetMediaData chunks, used again and again. A download moves each chunk to a
 * partial-file worker thread, which moves the memory back once the bytes are written and hashed
 * (media/download/partial-files.ts). New memory for every 512 KB chunk was freed only at each thread's next
 * garbage collection, after tens of MB: a 1 GB download grew the archive's RSS by about 100 MB.
 */
import { MEDIA_CHUNK_MAX } from './backend.ts';

/** spare chunk memories: more than a few downloads at once ever need */
const SPARE_MAX = 16;
const spare: ArrayBuffer[] = [];
/** memories handed out from the spares: moved whole to another thread even when a chunk uses part */
const reused = new WeakSet<ArrayBuffer>();

/**
 * Room for a chunk of `size` bytes: spare memory when there is some, else new memory of exactly
 * that size (not zeroed: the caller fills every byte it passes on).
 */
export function chunkBuffer(size: number): Buffer {
  const memory = size <= MEDIA_CHUNK_MAX ? spare.pop() : undefined;
  if (!memory) return Buffer.allocUnsafeSlow(size);
  reused.add(memory);
  return Buffer.from(memory, 0, size);
}

/** Whether this is chunk memory that may be moved to another thread whole. */
export function isChunkMemory(memory: ArrayBufferLike): boolean {
  return memory instanceof ArrayBuffer && reused.has(memory);
}

/**
 * Takes back memory that came back from another thread (so nothing here refers to it) to hold a
 * later chunk; only full-size chunk memory is kept.
 */
export function recycleChunkMemory(memory: ArrayBuffer): void {
  if (memory.byteLength === MEDIA_CHUNK_MAX && spare.length < SPARE_MAX) spare.push(memory);
}
