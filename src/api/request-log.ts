/**
 * One log line per request through the app's pino logger: request id, method, route, status and
 * time. Never the body, a cookie, an Authorization header or a query string: the callback's query
 * carries `msg_signature` and `echostr`, and any query may carry what a user typed. A path no route
 * knows is logged clipped, as the client's text it is.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** A request id a proxy or client may hand in: short, and nothing that could forge a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The request's id: a sane `X-Request-Id` from the caller (a proxy's, so lines can be matched), or a new UUID. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

/** onRequest: the id goes back to the caller, so a report can name it. */
export async function echoRequestId(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  reply.header('x-request-id', request.id);
}

/** onResponse: the request's line. `request.log` is the app logger's child with the request id. */
export async function logRequest(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const route = request.routeOptions.url;
  request.log.info(
    {
      stage: 'http',
      method: request.method,
      // the route's pattern (`/callback/:corpid/:app`), not the path: ids and names stay out of the log
      route: route ?? null,
      ...(route === undefined ? { path: (request.raw.url ?? '/').split('?')[0]!.slice(0, 120) } : {}),
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      ...(request.caller ? { user: request.caller.username } : {}),
    },
    'request',
  );
}
