import type { IncomingMessage } from 'node:http';

/** The request body was over the limit: answer 413. */
export class BodyTooLarge extends Error {}

/** The client went away before its body was complete: nobody is left to answer. */
export class BodyAborted extends Error {}

/**
 * Reads a request body into memory with a hard limit. A declared length over the limit is refused
 * before anything is read; a body that grows past it stops being read (the stream is paused, so the
 * caller can still answer 413). A client that hangs up before the end rejects with BodyAborted.
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
    // Node reports a client that hangs up mid-body as an ECONNRESET 'aborted' error: the client's
    // doing, not the server's (and a settled promise ignores the second reject of 'close').
    req.on('error', () => reject(new BodyAborted()));
    req.on('close', () => {
      if (!req.complete) reject(new BodyAborted());
    });
  });
}
