/**
 * `/api/status`: each corp's archive state (cursor, gaps, waiting envelopes, last errors, lease
 * holders' hosts and PIDs). Operators' knowledge, not for whoever reaches a server that faces
 * WeCom: admins only.
 */
import { corpStatuses } from '../status/corp-status.ts';
import type { Store } from '../store/open-store.ts';
import type { ApiInstance } from './api-types.ts';
import { errorAnswers, STATUS_ANSWER } from './answer-schemas.ts';

export function statusRoutes(store: Store, now: () => number) {
  return (api: ApiInstance): void => {
    api.get(
      '/api/status',
      {
        config: { access: ['admin'] },
        schema: { summary: "Every corp's archive status", tags: ['operations'], response: { 200: STATUS_ANSWER, ...errorAnswers(401, 403, 500, 503) } },
      },
      async () => ({ corps: await corpStatuses(store.db, now()) }),
    );
  };
}
