/**
 * The node:http side of the callback endpoint: matches `/callback/{corpid}/{app}`, reads the raw
 * body with a hard size limit (a larger body is refused without being read), keeps the raw query
 * string for callback-query.ts, works out the client address, and writes the endpoint's answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CALLBACK_BODY_LIMIT, type CallbackEndpointDeps, handleCallback } from './callback-endpoint.ts';
import { clientAddress } from './callback-source-guard.ts';
import { BodyAborted, BodyTooLarge, readBody } from '../api/read-body.ts';

const PATH = /^\/callback\/([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{1,64})\/?$/;

export interface CallbackRoute {
  /** Handles the request when its path is a callback path; false otherwise (not handled). */
  (req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent) return;
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length, 'cache-control': 'no-store' });
  res.end(bytes);
}

export function createCallbackRoute(deps: CallbackEndpointDeps, trustedProxies: readonly string[]): CallbackRoute {
  return async (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (!path.startsWith('/callback/')) return false;
    const started = performance.now();
    const m = PATH.exec(path);
    if (!m) {
      send(res, 404, 'application/json; charset=utf-8', JSON.stringify({ error: 'NOT_FOUND', message: 'callback URLs are /callback/{corpid}/{app}' }));
      return true;
    }
    let body: Buffer = Buffer.alloc(0);
    if (req.method === 'POST') {
      try {
        body = await readBody(req, CALLBACK_BODY_LIMIT);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          // Answer and close: the rest of an oversized body is never read.
          res.setHeader('connection', 'close');
          send(
            res,
            413,
            'application/json; charset=utf-8',
            JSON.stringify({ error: 'CALLBACK_BODY_TOO_LARGE', message: `the POST body is larger than ${CALLBACK_BODY_LIMIT} bytes` }),
          );
          res.on('finish', () => req.destroy());
          return true;
        }
        if (err instanceof BodyAborted) {
          // Anyone can open a connection and hang up: worth a debug line, not an error (no stack,
          // nothing to answer). WeCom itself retries a delivery it did not finish.
          deps.log.debug({ stage: 'callbacks', corp: m[1], app: m[2], remote: req.socket.remoteAddress }, 'callback client hung up before its body was complete');
          return true;
        }
        throw err;
      }
    }
    const answer = await handleCallback(deps, {
      method: req.method ?? 'GET',
      corpid: m[1]!,
      app: m[2]!,
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      body,
      remoteAddr: clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], trustedProxies),
    });
    send(res, answer.status, answer.contentType, answer.body);
    deps.log.debug({ stage: 'callbacks', corp: m[1], app: m[2], status: answer.status, ms: Math.round((performance.now() - started) * 10) / 10 }, 'callback answered');
    return true;
  };
}
