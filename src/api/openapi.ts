/**
 * The OpenAPI document at `/api/openapi.json`, built by @fastify/swagger from the routes' own
 * schemas, so what is validated and what is documented are one. Routes that need a caller list
 * the two ways to be one: the session cookie and a bearer token.
 */
import swagger from '@fastify/swagger';
import type { Static } from '@fastify/type-provider-typebox';
import { OPENAPI_DOCUMENT } from './answer-schemas.ts';
import { SESSION_COOKIE } from './access-hook.ts';
import type { ApiInstance, RouteAccess } from './api-types.ts';

export async function registerOpenApi(api: ApiInstance, version: string): Promise<void> {
  await api.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'wecom-archive', version, description: "The archive's HTTP API. Errors are `{error: CODE, message}`." },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          bearer: { type: 'http', scheme: 'bearer' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const access = route.config?.access as RouteAccess | undefined;
      if (access === undefined || access === 'public') return { schema, url };
      const roles = access === 'signed-in' ? 'any signed-in caller' : `roles: ${access.join(', ')}`;
      return {
        schema: { ...schema, security: [{ session: [] }, { bearer: [] }], description: [schema?.description, `Needs ${roles}.`].filter(Boolean).join(' ') },
        url,
      };
    },
  });
}

export function openApiRoutes(api: ApiInstance): void {
  api.get(
    '/api/openapi.json',
    { config: { access: 'public' }, schema: { summary: 'This document', tags: ['operations'], response: { 200: OPENAPI_DOCUMENT } } },
    // the document swagger builds is an OpenAPI 3 object: openapi, info and paths are always there
    async () => api.swagger() as unknown as Static<typeof OPENAPI_DOCUMENT>,
  );
}
