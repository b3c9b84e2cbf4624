/**
 * Reads standard input (or any stream) to its end, but never more than a limit: a password or a
 * secret is short, and a larger input is a wrong file or /dev/zero, not something to hold in memory.
 */

/** The whole of `stream`, or undefined as soon as it passes `max` bytes (the rest is left unread). */
export async function readAtMost(stream: NodeJS.ReadableStream, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(bytes);
    length += bytes.length;
    if (length > max) return undefined;
  }
  return Buffer.concat(chunks, length);
}
