/**
 * Signing in and out: `POST /api/session` checks a password through the accounts store and sets
 * the session cookie; `DELETE /api/session` ends the session; `GET /api/me` says who is signed in.
 * Every attempt and every sign-out is written to the audit log before the answer: when the audit
 * log cannot take the row, the request fails and a session just opened is ended again, so no one
 * holds a session the log does not know of.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { AccessSettings } from '../access/access-settings.ts';
import type { AuditEntry, Caller, LoginResult } from '../access/caller.ts';
import { ArchiveError, ValidationError } from '../errors/errors.ts';
import { reasonRequiredFor } from './access-reason.ts';
import { SESSION_COOKIE } from './access-hook.ts';
import type { AccessServices, ApiInstance } from './api-types.ts';
import { ERROR_BODY } from './error-schema.ts';
import type { LoginThrottle } from './login-throttle.ts';

const USER = Type.Object({ username: Type.String(), role: Type.Union([Type.Literal('admin'), Type.Literal('auditor'), Type.Literal('viewer')]) });
const USER_ANSWER = Type.Object({ user: USER });
/** `watermark`: pages showing messages carry the viewer's name and the date (setting `watermark`). */
const ME_ANSWER = Type.Object({
  user: USER,
  reasonRequired: Type.Boolean({ description: 'whether this caller must send X-Access-Reason to open a conversation or search (require_reason, viewers only)' }),
  watermark: Type.Boolean({ description: 'whether pages showing messages carry the viewer’s name and the date (setting watermark)' }),
});

/** The user agent as the audit row keeps it: clipped, control characters out. */
export function userAgent(request: FastifyRequest): string {
  return (request.headers['user-agent'] ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 300);
}

/** An audit row of a request without corp, conversation or items: a sign-in or a sign-out. */
export function sessionEntry(request: FastifyRequest, who: Pick<AuditEntry, 'userId' | 'username' | 'role'>, action: string, outcome?: string): AuditEntry {
  return {
    ...who,
    action,
    corpid: undefined,
    conversation: undefined,
    query: outcome === undefined ? undefined : { outcome },
    items: undefined,
    reason: undefined,
    ip: request.ip,
    userAgent: userAgent(request),
    requestId: request.id,
  };
}

function refusal(reason: Exclude<LoginResult, { ok: true }>['reason']): ArchiveError {
  switch (reason) {
    case 'locked':
      return new ArchiveError('LOGIN_LOCKED', 'the account is locked after too many failed sign-ins; try again later', { kind: 'invalid', httpStatus: 403 });
    case 'disabled':
      return new ArchiveError('LOGIN_DISABLED', 'the account is disabled; ask an admin', { kind: 'invalid', httpStatus: 403 });
    default:
      // an unknown user and a wrong password: one answer
      return new ArchiveError('LOGIN_REFUSED', 'wrong username or password', { kind: 'invalid', httpStatus: 401 });
  }
}

function who(caller: Caller): { user: { username: string; role: Caller['role'] } } {
  return { user: { username: caller.username, role: caller.role } };
}

/** `settings`: the access settings in force, read at each `GET /api/me` (a change shows at the next page load). */
export function sessionRoutes(access: AccessServices | undefined, throttle: LoginThrottle, readSettings: () => Promise<AccessSettings>) {
  const needAccess = (): AccessServices => {
    if (!access) throw new ArchiveError('ACCOUNTS_UNAVAILABLE', 'this process has no accounts store to sign in against', { httpStatus: 503 });
    return access;
  };
  return (api: ApiInstance): void => {
    api.post(
      '/api/session',
      {
        config: { access: 'public' },
        schema: {
          summary: 'Sign in with a username and password; sets the session cookie',
          tags: ['session'],
          body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 128 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
          response: { 200: USER_ANSWER, 401: ERROR_BODY, 403: ERROR_BODY, 429: ERROR_BODY },
        },
      },
      async (request, reply) => {
        const { authenticator, audit } = needAccess();
        const { username, password } = request.body;
        const stranger = { userId: undefined, username, role: undefined };
        try {
          throttle.take(request.ip, username);
        } catch (err) {
          await audit.record(sessionEntry(request, stranger, 'login_failed', 'throttled'));
          throw err;
        }
        const result = await authenticator.login(username, password, { ip: request.ip, userAgent: userAgent(request) });
        if (!result.ok) {
          await audit.record(sessionEntry(request, stranger, 'login_failed', result.reason));
          throw refusal(result.reason);
        }
        const { caller } = result;
        try {
          await audit.record(sessionEntry(request, caller, 'login'));
        } catch (err) {
          // the audit log does not know of this session: it must not live on
          await authenticator.endSession(result.sessionToken).catch((endErr: unknown) => request.log.error({ err: endErr }, 'could not end an unaudited session'));
          throw err;
        }
        setSessionCookie(request, reply, result.sessionToken, result.expiresAt);
        return who(caller);
      },
    );

    api.delete(
      '/api/session',
      {
        config: { access: 'signed-in' },
        schema: { summary: 'Sign out: ends the session and clears its cookie', tags: ['session'], response: { 204: Type.Null(), 400: ERROR_BODY, 401: ERROR_BODY } },
      },
      async (request, reply) => {
        const { authenticator, audit } = needAccess();
        const caller = request.caller!;
        const token = request.sessionToken;
        if (caller.via !== 'session' || token === undefined) throw new ValidationError('NOT_A_SESSION', 'a bearer token does not sign out; revoke the token instead');
        await audit.record(sessionEntry(request, caller, 'logout'));
        await authenticator.endSession(token);
        reply.clearCookie(SESSION_COOKIE, { path: '/' });
        return reply.code(204).send(null);
      },
    );

    api.get(
      '/api/me',
      {
        config: { access: 'signed-in' },
        schema: {
          summary: 'Who is signed in, whether a reason must be given to read, and how the UI marks what they read',
          tags: ['session'],
          response: { 200: ME_ANSWER, 400: ERROR_BODY, 401: ERROR_BODY },
        },
      },
      async (request) => {
        const settings = await readSettings();
        return { ...who(request.caller!), reasonRequired: await reasonRequiredFor(request.caller!, async () => settings.requireReason), watermark: settings.watermark };
      },
    );
  };
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
 * it), Path=/, Secure when the client reached the server over https (through a trusted proxy's
 * X-Forwarded-Proto; the server itself speaks plain HTTP), and it ends with the session.
 */
export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: number): void {
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', secure: request.protocol === 'https', expires: new Date(expiresAt) });
}
