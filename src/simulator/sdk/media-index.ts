/**
 * GetMediaData's index tokens. The first call passes ''; every answer carries the token of the next
 * chunk, `Range:bytes=<start>-<end>` with an inclusive end (the official demo shows
 * `Range:bytes=524288-1048575`), and the caller passes it back verbatim.
 */
import { MEDIA_CHUNK_MAX } from '../../sdk/backend.ts';

const TOKEN = /^Range:bytes=(\d{1,15})-(\d{1,15})$/;

/** The token for the chunk that starts at `start` of a file of `size` bytes. */
export function formatMediaIndex(start: number, size: number): string {
  return `Range:bytes=${start}-${Math.min(start + MEDIA_CHUNK_MAX, size) - 1}`;
}

/**
 * The byte range [start, end) one GetMediaData call returns, or undefined when `indexBuf` is not
 * a token for this file (code 10000, parameter error).
 */
export function mediaChunkRange(indexBuf: string, size: number): { start: number; end: number } | undefined {
  if (indexBuf === '') return { start: 0, end: Math.min(size, MEDIA_CHUNK_MAX) };
  const m = TOKEN.exec(indexBuf);
  if (!m) return undefined;
  const start = Number(m[1]);
  const last = Number(m[2]);
  if (last < start || start >= size) return undefined;
  return { start, end: Math.min(last + 1, start + MEDIA_CHUNK_MAX, size) };
}
