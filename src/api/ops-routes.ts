/**
 * `/metrics` and `/readyz` (src/ops/ builds their answers), and the request-duration histogram fed
 * from every answered request. `/metrics` applies its own rule (a bearer token when one is set,
 * else this machine only), judged on the socket's address: a reverse proxy on this machine makes
 * every client look local, which the README says to answer with a token.
 */
import { Type } from '@fastify/type-provider-typebox';
import type { OpsEndpoints, OpsReply } from '../ops/ops-endpoints.ts';
import { errorAnswers, READINESS } from './answer-schemas.ts';
import type { ApiInstance } from './api-types.ts';

function send(reply: import('fastify').FastifyReply, answer: OpsReply) {
  return reply.code(answer.status).header('content-type', answer.contentType).header('cache-control', 'no-store').send(answer.body);
}

export function opsRoutes(ops: OpsEndpoints) {
  return (api: ApiInstance): void => {
    api.addHook('onResponse', async (request, reply) => {
      // the route's template, never the raw path: a label value per URL would grow without bound
      const route = request.routeOptions.url ?? 'unmatched';
      ops.observeRequest(route, request.method, reply.statusCode, reply.elapsedTime / 1000);
    });
    api.get(
      '/metrics',
      {
        config: { access: 'public' },
        schema: {
          summary: 'Prometheus metrics',
          tags: ['operations'],
          response: { 200: Type.String({ description: 'the Prometheus text exposition' }), ...errorAnswers(401, 403) },
        },
      },
      async (request, reply) => send(reply, await ops.metricsRoute(request.headers.authorization, request.socket.remoteAddress)),
    );
    api.get(
      '/readyz',
      {
        config: { access: 'public' },
        schema: { summary: 'Whether this process is ready: database, migrations, a corp being pulled', tags: ['operations'], response: { 200: READINESS, 503: READINESS } },
      },
      async (_request, reply) => send(reply, await ops.readyzRoute()),
    );
  };
}
