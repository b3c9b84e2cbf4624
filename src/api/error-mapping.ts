/**
 * The one mapping from errors to HTTP answers. Every answer is `{error: CODE, message}`: an
 * ArchiveError keeps its code, status and message (written for users); Fastify's own errors
 * (validation, body limits, bad JSON, media types, bad URLs) get a code of the archive's; anything
 * else is a 500 that is logged with its stack and answered without it.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ArchiveError, type ErrorCode } from '../errors/errors.ts';
import { isDatabaseUnavailable } from '../store/database-health.ts';

export interface ErrorAnswer {
  readonly status: number;
  readonly error: ErrorCode;
  readonly message: string;
}

/** Fastify's error codes the archive answers with codes of its own. */
const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_VALIDATION: 'REQUEST_INVALID',
  FST_ERR_CTP_BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MEDIA_TYPE_UNSUPPORTED',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'REQUEST_INVALID',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'BODY_NOT_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'BODY_NOT_JSON',
  FST_ERR_BAD_URL: 'REQUEST_INVALID',
  FST_ERR_ASYNC_CONSTRAINT: 'REQUEST_INVALID',
};

/** A status Fastify (or a plugin) chose, by what it means to the caller. */
const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'REQUEST_INVALID',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'BODY_TOO_LARGE',
  415: 'MEDIA_TYPE_UNSUPPORTED',
  429: 'LOGIN_RATE_LIMITED',
};

/** The longest message echoed from a client-caused error (a validation message quotes the schema, not the input). */
const MAX_MESSAGE = 300;

/** What to answer for `err`; `log` is set when the error is the server's fault and belongs in the log. */
export function errorAnswer(err: unknown): ErrorAnswer & { log: boolean } {
  if (isDatabaseUnavailable(err)) {
    // the outage itself is logged once, by the store's health
    return { status: 503, error: 'DATABASE_UNREACHABLE', message: 'the database is unreachable; try again later', log: false };
  }
  if (err instanceof ArchiveError) return { status: err.httpStatus, error: err.code, message: err.message, log: err.httpStatus >= 500 };
  const fastify = err as Partial<FastifyError> | undefined;
  const status = typeof fastify?.statusCode === 'number' ? fastify.statusCode : 500;
  if (status >= 400 && status < 500) {
    // a SyntaxError from the JSON parser carries a 400 but no FST_ code
    const code = (fastify?.code && FASTIFY_CODES[fastify.code]) || (err instanceof SyntaxError ? 'BODY_NOT_JSON' : STATUS_CODES[status]) || 'REQUEST_INVALID';
    const message = code === 'BODY_NOT_JSON' ? 'the request body is not valid JSON' : String(fastify?.message ?? 'bad request').slice(0, MAX_MESSAGE);
    return { status, error: code, message, log: false };
  }
  return { status: 500, error: 'INTERNAL', message: 'internal error', log: true };
}

/** Fastify's error handler: the one place an error becomes an answer. */
export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const answer = errorAnswer(err);
  if (answer.log) request.log.error({ err }, 'request failed');
  if (answer.status === 429 && (err as { retryAfterS?: number }).retryAfterS !== undefined) reply.header('retry-after', String((err as { retryAfterS: number }).retryAfterS));
  return reply.code(answer.status).type('application/json; charset=utf-8').send({ error: answer.error, message: answer.message });
}

/** The answer for a path no route serves. */
export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const path = (request.raw.url ?? '/').split('?')[0]!.slice(0, 200);
  return reply.code(404).send({ error: 'NOT_FOUND', message: `no route ${request.method} ${path}` });
}
