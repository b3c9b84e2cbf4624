/**
 * One JSON exchange with the WeCom HTTP API (or the simulator standing in for it), directly or
 * through the corp's proxy. The edge of the API client: the answer is size-limited and must be a
 * JSON object; anything else is a typed, transient error. URLs carry access tokens and the gettoken
 * secret, so no message here ever contains a query string.
 */
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ArchiveError } from '../errors/errors.ts';
import { openProxyTunnel, ProxyTunnelError } from './proxy-tunnel.ts';

export interface ApiHttpRequest {
  method: 'GET' | 'POST';
  url: URL;
  /** JSON body for POST */
  body?: unknown;
  timeoutMs: number;
  /** the corp's proxy (http://, https://, socks5://), or null */
  proxy: string | null;
  proxyAuth: string | null;
  signal?: AbortSignal | undefined;
}

export interface ApiHttpResponse {
  status: number;
  json: Record<string, unknown>;
}

/** Sends one request; rejects with ApiTransportError (or the abort reason). */
export type ApiTransport = (req: ApiHttpRequest) => Promise<ApiHttpResponse>;

/** The API could not be reached, timed out, or answered with something that is not a JSON object. */
export class ApiTransportError extends ArchiveError {
  readonly transient = true;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('WECOM_API_UNREACHABLE', message, { ...options, httpStatus: 502 });
  }
}

/** WeCom answers are small (a department list of thousands of entries is well under this). */
const MAX_RESPONSE_BYTES = 32 << 20;

/** Path only: the query holds the token or the secret. */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** A transport with keep-alive connections for direct requests; proxied requests tunnel per call. */
export function createHttpTransport(options: { maxSockets?: number } = {}): ApiTransport & { close(): void } {
  const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  const transport = (req: ApiHttpRequest): Promise<ApiHttpResponse> => exchange(req, httpAgent, httpsAgent);
  return Object.assign(transport, {
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  });
}

async function exchange(req: ApiHttpRequest, httpAgent: HttpAgent, httpsAgent: HttpsAgent): Promise<ApiHttpResponse> {
  if (req.signal?.aborted) throw req.signal.reason ?? new Error('aborted');
  const { url } = req;
  const https = url.protocol === 'https:';
  if (!https && url.protocol !== 'http:') throw new ApiTransportError(`the WeCom API base must be http(s), got ${url.protocol}`);
  const payload = req.method === 'POST' ? Buffer.from(JSON.stringify(req.body ?? {}), 'utf8') : undefined;
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (payload) {
    headers['content-type'] = 'application/json; charset=utf-8';
    headers['content-length'] = payload.length;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (https ? 443 : 80));
  const deadline = Date.now() + req.timeoutMs;

  let make: () => ClientRequest;
  if (!req.proxy) {
    make = () =>
      (https ? httpsRequest : httpRequest)({ method: req.method, host, port, path: url.pathname + url.search, headers, agent: https ? httpsAgent : httpAgent, servername: host });
  } else if (!https && /^https?:/.test(req.proxy)) {
    // A plain-http target through an HTTP proxy: absolute-form request line, as proxies expect.
    const proxy = new URL(req.proxy);
    if (req.proxyAuth) headers['proxy-authorization'] = `Basic ${Buffer.from(req.proxyAuth, 'utf8').toString('base64')}`;
    headers.host = url.host;
    const viaTls = proxy.protocol === 'https:';
    make = () =>
      (viaTls ? httpsRequest : httpRequest)({
        method: req.method,
        host: proxy.hostname.replace(/^\[|\]$/g, ''),
        port: Number(proxy.port || (viaTls ? 443 : 80)),
        path: url.toString(),
        headers,
        agent: false,
      });
  } else {
    // CONNECT or SOCKS5 tunnel, then TLS to the target for https.
    const raw = await openProxyTunnel(req.proxy, req.proxyAuth, { host, port }, Math.max(1, deadline - Date.now()));
    const socket: Socket = https ? tlsConnect({ socket: raw, servername: host }) : raw;
    make = () => httpRequest({ method: req.method, host, port, path: url.pathname + url.search, headers, createConnection: () => socket, agent: false });
  }

  return new Promise<ApiHttpResponse>((resolve, reject) => {
    let settled = false;
    const where = describeUrl(url);
    const settle = (err: unknown, value?: ApiHttpResponse): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      if (err !== undefined) {
        request.destroy();
        reject(err);
      } else resolve(value as ApiHttpResponse);
    };
    const onAbort = (): void => settle(req.signal?.reason ?? new Error('aborted'));
    const timer = setTimeout(() => settle(new ApiTransportError(`${where} did not answer within ${req.timeoutMs} ms`)), Math.max(1, deadline - Date.now()));
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const request = make();
    request.on('error', (err: NodeJS.ErrnoException) => settle(new ApiTransportError(`cannot reach ${where}: ${err.code ?? err.message}`, { cause: err })));
    request.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) settle(new ApiTransportError(`${where} answered with more than ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('error', (err) => settle(new ApiTransportError(`${where}: the answer was cut off (${err.message})`, { cause: err })));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 407 && req.proxy) {
          settle(new ProxyTunnelError('the proxy requires authentication (407): check --proxy-auth of the corp', { transient: false }));
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        if (typeof json !== 'object' || json === null || Array.isArray(json)) {
          settle(new ApiTransportError(`${where} answered HTTP ${status} with ${text.length === 0 ? 'an empty body' : 'a body that is not a JSON object'}`));
          return;
        }
        settle(undefined, { status, json: json as Record<string, unknown> });
      });
    });
    request.end(payload);
  });
}
