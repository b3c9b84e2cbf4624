import type { IncomingMessage } from 'node:http';

/** The request body was over the limit: answer 413. */
export class BodyTooLarge extends Error {}

/**
 * Reads a request body into memory with a hard limit. A declared length over the limit is refused
 * before anything is read; a body that grows past it stops being read (the stream is paused, so the
 * caller can still answer 413).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
