/**
 * Mounts the WeCom callback endpoint (src/callbacks/callback-http.ts) on the server. The endpoint
 * reads its own raw body and raw query: the signature covers the exact bytes, and a `+` in the
 * base64 `echostr` must reach it unchanged (a parsed query would turn it into a space). So its
 * routes live in their own context, where the body is left unread for the endpoint to read with
 * its own limit, and the handler hands the raw request and response over.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CallbackRoute } from '../callbacks/callback-http.ts';
import type { Logger } from '../app/logger.ts';
import type { ApiInstance } from './api-types.ts';
import { errorAnswer } from './error-mapping.ts';

const NAME = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });

export function callbackRoutes(callbacks: CallbackRoute, log: Logger) {
  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // from here the endpoint answers on the raw response itself
    reply.hijack();
    const res = reply.raw;
    try {
      await callbacks(request.raw, res);
    } catch (err) {
      // nothing was stored, so nothing is acknowledged: WeCom delivers the event again later.
      // The answer is the one error mapping's, written on the raw response the endpoint holds.
      const answer = errorAnswer(err);
      if (answer.log) log.error({ stage: 'callbacks', err, reqId: request.id }, 'callback request failed');
      if (!res.headersSent) {
        const body = JSON.stringify({ error: answer.error, message: answer.message });
        res.writeHead(answer.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      }
    }
  };
  return async (api: ApiInstance): Promise<void> => {
    // this context only: no parser reads the body; the endpoint does, with its own limit
    api.removeAllContentTypeParsers();
    api.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    const config = { access: 'public' as const, csrfExempt: true, rawBody: true };
    api.route({
      method: ['GET', 'POST'],
      url: '/callback/:corpid/:app',
      config,
      schema: {
        summary: 'The WeCom callback endpoint: URL verification (GET) and signed, encrypted events (POST, XML)',
        tags: ['wecom'],
        params: Type.Object({ corpid: NAME, app: NAME }),
        querystring: Type.Object(
          {
            msg_signature: Type.Optional(Type.String()),
            timestamp: Type.Optional(Type.String()),
            nonce: Type.Optional(Type.String()),
            echostr: Type.Optional(Type.String({ description: 'GET only; base64, read from the raw query so a `+` survives' })),
          },
          { additionalProperties: true },
        ),
      },
      handler: handle,
    });
    // every other path and method under /callback/: the endpoint answers them itself (404, 405)
    api.route({
      method: ['DELETE', 'GET', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
      url: '/callback/*',
      config,
      schema: { hide: true, params: Type.Record(Type.String(), Type.String()) },
      handler: handle,
    });
  };
}
