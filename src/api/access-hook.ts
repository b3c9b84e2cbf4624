/**
 * Who is calling: the caller of the `Authorization: Bearer` token, or else of the session cookie,
 * resolved through the accounts store's Authenticator and put on the request. Each route declares
 * its access (api-types.ts); a route that needs a caller answers 401 without one and 403 when the
 * caller's role is not among those the route names. Public routes never touch the accounts store.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../access/caller.ts';
import { ArchiveError } from '../errors/errors.ts';
import type { AccessServices } from './api-types.ts';

/** The session cookie's name: the token the accounts store handed out at sign-in. */
export const SESSION_COOKIE = 'wecom_archive_session';

/** Tokens the accounts store hands out are printable ASCII; anything else is not worth a query. */
const SANE_TOKEN = /^[\x21-\x7e]{16,512}$/;
const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;

function unauthenticated(message: string): ArchiveError {
  return new ArchiveError('UNAUTHENTICATED', message, { kind: 'invalid', httpStatus: 401 });
}

/** The bearer token of a request that names one (even a malformed one), else undefined. */
export function bearerHeader(request: FastifyRequest): string | undefined {
  const value = request.headers.authorization;
  return typeof value === 'string' && /^bearer\b/i.test(value) ? value : undefined;
}

/** The onRequest hook that resolves the caller and applies the route's access rule. */
export function accessHook(access: AccessServices | undefined) {
  return async function resolveCaller(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const rule = request.routeOptions.config.access;
    // a path no route serves (undefined) and public routes need nobody
    if (rule === undefined || rule === 'public') return;
    let caller: Caller | undefined;
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const m = BEARER.exec(authorization);
      if (!m) throw unauthenticated('the Authorization header must be "Bearer TOKEN"');
      caller = access ? await access.authenticator.tokenCaller(m[1]!) : undefined;
      if (!caller) throw unauthenticated('the bearer token is unknown, revoked or expired');
    } else {
      const token = request.cookies[SESSION_COOKIE];
      if (token !== undefined && SANE_TOKEN.test(token) && access) caller = await access.authenticator.sessionCaller(token);
      if (!caller) throw unauthenticated(token === undefined ? 'sign in first (POST /api/session) or send a bearer token' : 'the session has ended; sign in again');
      request.sessionToken = token;
    }
    request.caller = caller;
    if (rule !== 'signed-in' && !rule.includes(caller.role)) {
      throw new ArchiveError('FORBIDDEN', `this route is for ${rule.join(', ')}; you are signed in as ${caller.role}`, { kind: 'invalid', httpStatus: 403 });
    }
  };
}
