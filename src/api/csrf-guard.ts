/**
 * CSRF defence for a cookie session: a browser sends the cookie with any request to this server,
 * whoever's page made it, so a state-changing request that carries the cookie must also show, by its
 * `Origin` (or, failing that, `Referer`), that this server's own pages made it. A foreign origin is
 * refused even with a valid cookie, and so is a request with the cookie and neither header. A
 * bearer token is no ambient credential (a page cannot make a browser add it), so bearer requests
 * are exempt, as is the WeCom callback (no session; WeCom signs it). A foreign Origin on a request
 * without the cookie (a sign-in from another site's page) is refused as well.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ArchiveError } from '../errors/errors.ts';
import { bearerHeader, SESSION_COOKIE } from './access-hook.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function refused(message: string): ArchiveError {
  return new ArchiveError('CSRF_ORIGIN_REFUSED', message, { kind: 'invalid', httpStatus: 403 });
}

/** The origin (`scheme://host[:port]`, default port left out) of a URL, or undefined when it is not an http(s) URL. */
function originOf(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** This server's origin as the client reached it: the Host header, and the scheme (a trusted proxy's X-Forwarded-Proto/-Host). */
export function ownOrigin(request: FastifyRequest): string | undefined {
  return request.host ? originOf(`${request.protocol}://${request.host}`) : undefined;
}

/** The onRequest hook. */
export async function csrfGuard(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
  if (!STATE_CHANGING.has(request.method) || request.routeOptions.config.csrfExempt === true) return;
  if (bearerHeader(request) !== undefined) return;
  const withCookie = request.cookies[SESSION_COOKIE] !== undefined;
  const origin = request.headers.origin;
  const referer = request.headers.referer;
  const claimed = typeof origin === 'string' ? origin : typeof referer === 'string' ? referer : undefined;
  if (claimed === undefined) {
    if (withCookie) throw refused('a request that changes state with a session cookie must carry an Origin header of this server');
    return;
  }
  const own = ownOrigin(request);
  if (own === undefined || originOf(claimed) !== own) throw refused('the request comes from another origin than this server; refused');
}
