/**
 * `/healthz`, open to anyone (a load balancer or monitor): 200 while the database answers, 503
 * while it does not, so the outage is seen from outside.
 */
import { sql } from 'kysely';
import { Type } from '@fastify/type-provider-typebox';
import { type DatabaseState } from '../store/database-health.ts';
import type { Store } from '../store/open-store.ts';
import type { ApiInstance } from './api-types.ts';

/** how long /healthz waits for the database's answer */
const HEALTH_QUERY_MS = 2_000;

/**
 * Whether the database answers now. The store's health knows of an outage any query has met; a
 * quick query finds one nothing has met yet (an idle process) and, failing, tells the health too.
 */
async function databaseState(store: Store): Promise<DatabaseState> {
  if (store.health.reachable) {
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      sql`select 1`.execute(store.db).then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), HEALTH_QUERY_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!answered && store.health.reachable) return { reachable: false, reason: `the database did not answer within ${HEALTH_QUERY_MS / 1000} s` };
  }
  return store.health.state();
}

const HEALTH = Type.Object({
  ok: Type.Boolean(),
  database: Type.Union([Type.Literal('reachable'), Type.Literal('unreachable')]),
  since: Type.Optional(Type.String({ description: 'when the outage began (ISO 8601)' })),
  reason: Type.Optional(Type.String()),
});

export function healthRoutes(store: Store) {
  return (api: ApiInstance): void => {
    api.get(
      '/healthz',
      { config: { access: 'public' }, schema: { summary: 'Whether the archive can reach its database', tags: ['operations'], response: { 200: HEALTH, 503: HEALTH } } },
      async (_request, reply) => {
        const db = await databaseState(store);
        if (db.reachable) return { ok: true, database: 'reachable' as const };
        return reply
          .code(503)
          .send({ ok: false, database: 'unreachable' as const, ...(db.since !== undefined ? { since: new Date(db.since).toISOString() } : {}), reason: db.reason });
      },
    );
  };
}
