/**
 * Passwords: the rules a new password must meet, and argon2id hashing. Only the PHC string of the
 * hash is ever stored; the password itself is never logged, stored or echoed.
 */
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { ValidationError } from '../errors/errors.ts';

export const PASSWORD_MIN_LENGTH = 10;
/** Longer input is not a password but an attempt to make hashing expensive. */
export const PASSWORD_MAX_LENGTH = 1024;

/** argon2id, the variant of @node-rs/argon2's enum `Algorithm.Argon2id` (a const enum, which isolated modules cannot import). */
const ARGON2ID = 2;

/**
 * Throws a ValidationError saying which rule `password` breaks: at least 10 characters (code points,
 * so a Chinese password counts its characters), at most 1024, and not the username in any case.
 */
export function checkPasswordRules(username: string, password: string): void {
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) throw new ValidationError('PASSWORD_INVALID', `the password must have at least ${PASSWORD_MIN_LENGTH} characters; it has ${length}`);
  if (length > PASSWORD_MAX_LENGTH) throw new ValidationError('PASSWORD_INVALID', `the password must have at most ${PASSWORD_MAX_LENGTH} characters`);
  if (password.trim().toLowerCase() === username.trim().toLowerCase()) throw new ValidationError('PASSWORD_INVALID', 'the password must not be the username');
}

/** Hashes and checks passwords. An interface so tests can count verifications (the timing rule) and use a cheap cost. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /** false also for a stored hash that is malformed: a broken row signs no one in */
  verify(passwordHash: string, password: string): Promise<boolean>;
}

/** argon2id cost. The defaults are argon2's own (19 MiB, 2 passes), about what OWASP asks for argon2id. */
export interface Argon2Cost {
  readonly memoryCost?: number;
  readonly timeCost?: number;
}

/** The argon2id hasher of @node-rs/argon2 (it runs on libuv's thread pool, not the event loop). */
export function argon2Hasher(cost: Argon2Cost = {}): PasswordHasher {
  const options = { algorithm: ARGON2ID, ...cost };
  return {
    hash: (password) => hash(password, options),
    async verify(passwordHash, password) {
      try {
        return await verify(passwordHash, password);
      } catch {
        return false;
      }
    },
  };
}

/**
 * A hash of a random password with the hasher's cost, made once: checked against for a user that does
 * not exist, so that an unknown user costs the same argon2 work as a wrong password.
 */
export function dummyHash(hasher: PasswordHasher): () => Promise<string> {
  let made: Promise<string> | undefined;
  return () => (made ??= hasher.hash(randomBytes(24).toString('base64url')));
}
