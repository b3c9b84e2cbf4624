/**
 * The random secrets of sessions and API tokens. The database keeps only their SHA-256: the tokens
 * have 256 bits of randomness, so a fast hash suffices (no password stretching is needed), and a copy
 * of the database signs no one in.
 */
import { createHash, randomBytes } from 'node:crypto';

/** What every API token starts with, so secret scanners and people can tell one when they see it. */
export const API_TOKEN_PREFIX = 'wa_';

const SECRET = /^[A-Za-z0-9_-]{43}$/;

/** A new session token: 32 random bytes, base64url. */
export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

/** A new API token: `wa_` and 32 random bytes, base64url. */
export function newApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Whether `text` has the shape of a session token: anything else is refused without a database query. */
export function isSessionTokenShape(text: string): boolean {
  return SECRET.test(text);
}

/** Whether `text` has the shape of an API token. */
export function isApiTokenShape(text: string): boolean {
  return text.startsWith(API_TOKEN_PREFIX) && SECRET.test(text.slice(API_TOKEN_PREFIX.length));
}

/** The hex SHA-256 the database keeps of a token. */
export function secretHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
