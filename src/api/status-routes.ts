/**
 * `/api/status`: each corp's archive state (cursor, gaps, waiting envelopes, last errors, lease
 * holders' hosts and PIDs). Operators' knowledge, not for whoever reaches a server that faces
 * WeCom: admins only.
 */
import { Type } from '@fastify/type-provider-typebox';
import { corpStatuses } from '../status/corp-status.ts';
import type { Store } from '../store/open-store.ts';
import type { ApiInstance } from './api-types.ts';
import { ERROR_BODY } from './error-schema.ts';

const STATUS = Type.Object({
  corps: Type.Array(Type.Object({ corpid: Type.String() }, { additionalProperties: true, description: "a corp's status, as `wecom-archive status --json` prints it" })),
});

export function statusRoutes(store: Store, now: () => number) {
  return (api: ApiInstance): void => {
    api.get(
      '/api/status',
      {
        config: { access: ['admin'] },
        schema: { summary: "Every corp's archive status", tags: ['operations'], response: { 200: STATUS, 401: ERROR_BODY, 403: ERROR_BODY } },
      },
      async () => ({ corps: await corpStatuses(store.db, now()) }),
    );
  };
}
