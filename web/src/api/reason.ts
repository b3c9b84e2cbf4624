/**
 * Access reasons: where a setting requires one, the API answers a read with 428 REASON_REQUIRED, and
 * the read is asked again with the reason the reader gives in `X-Access-Reason` (percent-encoded, as
 * header values are ASCII). The reason is kept for the rest of the page's life, so one reading session
 * asks once. A minimal helper: the conversations page's engineer writes the shared one.
 */
import { ApiError, type RequestOptions } from './client.ts';

let remembered: string | undefined;

/** Asks the reader for a reason; undefined when they cancel. Replaceable (tests, a nicer dialog). */
export let askReason: (message: string) => string | undefined = (message) => {
  const answer = window.prompt(message)?.trim();
  return answer ? answer : undefined;
};

export function setReasonAsker(asker: (message: string) => string | undefined): void {
  askReason = asker;
}

/** The request's options with the remembered reason's header, if there is one. */
function withHeader(options: RequestOptions, reason: string | undefined): RequestOptions {
  return reason === undefined ? options : { ...options, headers: { ...options.headers, 'X-Access-Reason': encodeURIComponent(reason) } };
}

/**
 * Runs `read`; when the API wants a reason, asks for one (with `prompt`, the question shown) and runs
 * it once more with the reason. A cancelled question rethrows the 428.
 */
export async function withReason<T>(read: (options: RequestOptions) => Promise<T>, prompt: string, options: RequestOptions = {}): Promise<T> {
  try {
    return await read(withHeader(options, remembered));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 428 || err.code !== 'REASON_REQUIRED') throw err;
    const reason = askReason(prompt);
    if (reason === undefined) throw err;
    remembered = reason;
    return read(withHeader(options, reason));
  }
}
