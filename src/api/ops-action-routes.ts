/**
 * What an operator does about a corp's failures from the operations page, as `media retry` and
 * `callback replay` do on the command line (the same functions): the latest failed media jobs and
 * callback events with why they failed (never a message's content or an event's payload), and
 * putting them back to pending. Admins only, like /api/status.
 *
 * Each change writes its audit row (who, which corp, what, how many) before the answer, and so
 * does the read of the failed media (file names come from the archived messages); when the audit
 * log refuses the row the request fails. A cookie-session POST passes the CSRF guard first.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { AuditTrail } from '../access/caller.ts';
import { CallbackInbox } from '../callbacks/callback-inbox.ts';
import type { CorpRegistry } from '../corps/corp-registry.ts';
import { ArchiveError } from '../errors/errors.ts';
import { requeueMedia } from '../media/jobs/media-job-repository.ts';
import { mediaFailures } from '../media/jobs/media-status.ts';
import type { Store } from '../store/open-store.ts';
import type { ApiInstance } from './api-types.ts';
import { CALLBACK_FAILURES_ANSWER, CALLBACK_REPLAY_ANSWER, errorAnswers, MEDIA_FAILURES_ANSWER, MEDIA_RETRY_ANSWER } from './answer-schemas.ts';
import { userAgent } from './session-routes.ts';

/** How many failures a list shows: the latest, enough to see a pattern. */
export const FAILURES_SHOWN = 20;

/** A corp id as `corp add` takes it (the read routes' rule). */
const CORP_PARAMS = Type.Object({ corpid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
/** The states an operator may queue again from the page (`media retry --state`; pending needs no button). */
const RETRY_STATES = ['failed', 'expired', 'unverified'] as const;

export function opsActionRoutes(store: Store, corps: CorpRegistry, audit: AuditTrail | undefined, now: () => number = Date.now) {
  const { db } = store;
  const inbox = new CallbackInbox(db, now);

  /** Writes the request's audit row; resolves once committed, rejects (failing the request) when it cannot be. */
  async function audited(request: FastifyRequest, action: string, corpid: string, query: Record<string, unknown> | undefined, items: number): Promise<void> {
    if (!audit) throw new ArchiveError('ACCOUNTS_UNAVAILABLE', 'this process has no audit log; operations are refused', { httpStatus: 503 });
    const caller = request.caller!;
    await audit.record({
      userId: caller.userId,
      username: caller.username,
      role: caller.role,
      action,
      corpid,
      conversation: undefined,
      query,
      items,
      reason: undefined,
      ip: request.ip,
      userAgent: userAgent(request),
      requestId: request.id,
    });
  }

  /** Refuses a corp this archive does not hold (404), before anything is read or changed. */
  const knownCorp = (request: FastifyRequest<{ Params: { corpid: string } }>) => corps.assertKnown(request.params.corpid);

  return (api: ApiInstance): void => {
    api.get(
      '/api/corps/:corpid/media/failures',
      {
        config: { access: ['admin'] },
        preHandler: knownCorp,
        schema: {
          summary: "A corp's latest failed or expired media jobs and why",
          tags: ['operations'],
          params: CORP_PARAMS,
          response: { 200: MEDIA_FAILURES_ANSWER, ...errorAnswers(400, 401, 403, 404, 500, 503) },
        },
      },
      async (request) => {
        const { corpid } = request.params;
        const failures = await mediaFailures(db, corpid, FAILURES_SHOWN);
        await audited(request, 'media.failures', corpid, undefined, failures.length);
        return { failures };
      },
    );

    api.post(
      '/api/corps/:corpid/media/retry',
      {
        config: { access: ['admin'] },
        preHandler: knownCorp,
        schema: {
          summary: "Queue a corp's failed (or expired, or unverified) media again from the first byte, as `media retry` does",
          tags: ['operations'],
          params: CORP_PARAMS,
          body: Type.Object(
            {
              state: Type.Optional(
                Type.Union(
                  RETRY_STATES.map((s) => Type.Literal(s)),
                  { description: 'which jobs; default failed' },
                ),
              ),
            },
            { additionalProperties: false },
          ),
          response: { 200: MEDIA_RETRY_ANSWER, ...errorAnswers(400, 401, 403, 404, 415, 500, 503) },
        },
      },
      async (request) => {
        const { corpid } = request.params;
        const state = request.body.state ?? 'failed';
        const requeued = await requeueMedia(db, { corpid, state }, now());
        await audited(request, 'media.retry', corpid, { state }, requeued);
        return { requeued };
      },
    );

    api.get(
      '/api/corps/:corpid/callbacks/failures',
      {
        config: { access: ['admin'] },
        preHandler: knownCorp,
        schema: {
          summary: "A corp's latest failed callback events and why (never their payload)",
          tags: ['operations'],
          params: CORP_PARAMS,
          response: { 200: CALLBACK_FAILURES_ANSWER, ...errorAnswers(400, 401, 403, 404, 500, 503) },
        },
      },
      async (request) => ({ failures: await inbox.failures(request.params.corpid, FAILURES_SHOWN) }),
    );

    api.post(
      '/api/corps/:corpid/callbacks/replay',
      {
        config: { access: ['admin'] },
        preHandler: knownCorp,
        schema: {
          summary: "Hand a corp's failed callback events (or one of them) to the handlers again, as `callback replay` does",
          tags: ['operations'],
          params: CORP_PARAMS,
          body: Type.Object(
            { id: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'one event; without it, every failed event of the corp' })) },
            { additionalProperties: false },
          ),
          response: { 200: CALLBACK_REPLAY_ANSWER, ...errorAnswers(400, 401, 403, 404, 415, 500, 503) },
        },
      },
      async (request) => {
        const { corpid } = request.params;
        const { id } = request.body;
        const replayed = await inbox.replay(id === undefined ? { corpid } : { id, corpid });
        await audited(request, 'callbacks.replay', corpid, id === undefined ? { all: true } : { id }, replayed);
        return { replayed };
      },
    );
  };
}
