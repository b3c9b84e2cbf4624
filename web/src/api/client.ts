/**
 * The one way the UI talks to the archive's API: same-origin fetch with the session cookie, JSON in
 * and out, and one error type. A 401 means the session ended (idle, revoked or never begun): the
 * router is told, so it can send the reader to the login page and back again afterwards.
 */

/** The error body every API route answers with (src/api/error-schema.ts). */
export interface ApiErrorBody {
  readonly error: string;
  readonly message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = (err: ApiError) => void;
const signedOutListeners = new Set<Listener>();

/** Called with every 401 that is not the answer to a sign-in attempt. */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export interface RequestOptions {
  readonly signal?: AbortSignal;
  /** extra headers (e.g. X-Access-Reason) */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A query string from defined values only; every value is a string on the wire. */
export function query(params: Readonly<Record<string, string | number | undefined | null>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** One path segment: ids from the archive are hostile and may hold `/`, `?` or `#`. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

async function toError(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || 'request failed';
  try {
    const body = (await response.json()) as Partial<ApiErrorBody>;
    if (typeof body.error === 'string') code = body.error;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON (a proxy's page): keep the status
  }
  return new ApiError(response.status, code, message);
}

async function request<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    signal: options.signal,
  });
  if (!response.ok) {
    const err = await toError(response);
    if (err.status === 401 && !(method === 'POST' && path === '/api/session')) for (const listener of signedOutListeners) listener(err);
    throw err;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function apiGet<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return request<T>('GET', path, undefined, options);
}

export function apiSend<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  return request<T>(method, path, body, options);
}
