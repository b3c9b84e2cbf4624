/**
 * Opaque page cursors: a page's last sort key as base64url JSON. Clients pass them back unread; a
 * cursor that comes back is user input, so the caller checks every field of what `readCursor`
 * returns, and anything that is not base64url JSON is refused here.
 */

/** Longer than any real cursor: a bigger one is refused before it is decoded. */
const MAX_CURSOR_CHARS = 2000;

export function writeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The JSON value a cursor holds, or undefined when it is not a cursor at all. */
export function readCursor(cursor: string): unknown {
  if (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
