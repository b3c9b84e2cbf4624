/**
 * Access reasons (issue 18, point 7). With the setting `require_reason` on, a viewer gives a reason
 * (a case number or free text) before it opens a conversation's content or searches; the reason is
 * written into the audit row of that request. The reason travels in the `X-Access-Reason` header as
 * `encodeURIComponent(reason)`, because a header cannot carry Chinese text as it is.
 *
 * A route that opens content says so with `config.needsReason`. A viewer without a reason there gets
 * 428 REASON_REQUIRED while the setting is on; a malformed reason is a 400 REASON_INVALID from anyone
 * on any route that needs a caller. Admins and auditors are never asked, but a reason they send is
 * recorded like a viewer's.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../access/caller.ts';
import { ArchiveError, ValidationError } from '../errors/errors.ts';

/** The request header that carries the reason, percent-encoded UTF-8. */
export const REASON_HEADER = 'x-access-reason';

/** The longest reason, in characters (code points) once decoded and trimmed. */
export const REASON_MAX_CHARS = 200;

/** What encodeURIComponent writes: unreserved characters and %XX escapes, nothing else. */
const ENCODED = /^[A-Za-z0-9\-_.!~*'()%]+$/;
/** A 4-byte character is 12 characters encoded: no longer header can decode to a valid reason. */
const ENCODED_MAX = REASON_MAX_CHARS * 12;
/** Control characters (C0, DEL, C1) and line or paragraph separators: they would break an audit export's lines. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;

function invalid(why: string): ValidationError {
  return new ValidationError('REASON_INVALID', `the ${REASON_HEADER} header ${why}; send encodeURIComponent(reason), 1 to ${REASON_MAX_CHARS} characters of text`);
}

/** The reason a header value carries, or undefined without one; a ValidationError when it is malformed. */
export function parseAccessReason(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header) || header.includes(',')) throw invalid('is given more than once');
  if (header.length > ENCODED_MAX || !ENCODED.test(header)) throw invalid('is not percent-encoded text');
  let decoded: string;
  try {
    decoded = decodeURIComponent(header);
  } catch {
    throw invalid('is not percent-encoded UTF-8');
  }
  const reason = decoded.trim();
  if (reason.length === 0) throw invalid('is empty');
  if ([...reason].length > REASON_MAX_CHARS) throw invalid(`is longer than ${REASON_MAX_CHARS} characters`);
  if (CONTROL.test(reason)) throw invalid('holds a control character');
  return reason;
}

/** Whether `caller` must give a reason to open content now: a viewer, while the setting is on. */
export async function reasonRequiredFor(caller: Caller, requireReason: () => Promise<boolean>): Promise<boolean> {
  return caller.role === 'viewer' && (await requireReason());
}

/**
 * The onRequest hook, after the access hook: reads the reason of a request that has a caller, and
 * refuses a viewer without one on a route that opens content while the setting is on.
 * `requireReason` reads the setting (once per request that needs it, so a change applies at once).
 */
export function reasonHook(requireReason: () => Promise<boolean>) {
  return async function checkReason(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const caller = request.caller;
    if (!caller) return;
    request.accessReason = parseAccessReason(request.headers[REASON_HEADER]);
    if (request.accessReason !== undefined || request.routeOptions.config.needsReason !== true) return;
    if (await reasonRequiredFor(caller, requireReason)) {
      throw new ArchiveError('REASON_REQUIRED', `give a reason for this read (a case number or free text) in the ${REASON_HEADER} header, percent-encoded`, {
        kind: 'invalid',
        httpStatus: 428,
      });
    }
  };
}
