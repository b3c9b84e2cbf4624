/**
 * Who may read /metrics. The metrics name corp ids and what goes wrong with them, so without a
 * token only this machine may read them (as /api/status); with a token (`--metrics-token-file`,
 * WECOM_ARCHIVE_METRICS_TOKEN) every client must send it as `Authorization: Bearer TOKEN`,
 * wherever it connects from. The comparison takes the same time whatever the guess.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isLoopbackAddress } from '../api/loopback.ts';

export type MetricsAccess = { ok: true } | { ok: false; status: 401 | 403; error: string; message: string };

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Whether `authorization` carries exactly `token`: both are hashed first, so neither length nor content leaks through timing. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
  const given = match?.[1] ?? '';
  // compared even when absent, so a missing header takes as long as a wrong one
  return timingSafeEqual(digest(given), digest(token)) && match !== null;
}

/** Decides a /metrics request from its Authorization header and the socket's remote address. */
export function metricsAccess(token: string | undefined, authorization: string | undefined, remoteAddress: string | undefined): MetricsAccess {
  if (token === undefined) {
    if (isLoopbackAddress(remoteAddress)) return { ok: true };
    return {
      ok: false,
      status: 403,
      error: 'METRICS_LOOPBACK_ONLY',
      message: '/metrics answers only on this machine unless a token is set (--metrics-token-file or WECOM_ARCHIVE_METRICS_TOKEN)',
    };
  }
  if (bearerMatches(authorization, token)) return { ok: true };
  return { ok: false, status: 401, error: 'METRICS_TOKEN_REQUIRED', message: '/metrics needs the header Authorization: Bearer TOKEN' };
}
