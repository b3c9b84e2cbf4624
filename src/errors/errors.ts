import type { ErrorCode } from './error-codes.ts';

export { ERROR_CODES, type ErrorCode } from './error-codes.ts';

/**
 * What a caller can do about an error, whatever its code:
 * - 'invalid': the input or the configuration is wrong; only a change by the user fixes it, so
 *   retrying unchanged is pointless;
 * - 'not_found': something the user named (a corp, a key version) does not exist;
 * - 'failed': anything else; it may work on a later try.
 * The edges map it: the CLI to exit codes (cli/exit-codes.ts), the HTTP API to statuses.
 */
export type ErrorKind = 'invalid' | 'not_found' | 'failed';

/**
 * Typed errors with stable codes. Every error the archive raises on purpose is an ArchiveError;
 * the CLI maps its `kind` to an exit code, the HTTP layer uses `httpStatus`. WeCom's own codes are
 * kept as they are in `wecomCode` and explained in the message (see wecom-codes.ts).
 */
export class ArchiveError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly httpStatus: number;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; kind?: ErrorKind; httpStatus?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.kind = options.kind ?? 'failed';
    this.httpStatus = options.httpStatus ?? 500;
  }
}

/** A setting (flag, environment variable, config file) is missing or invalid. */
export class ConfigError extends ArchiveError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, { ...options, kind: 'invalid', httpStatus: 400 });
  }
}

/** Input from a user, a file or the network failed validation. */
export class ValidationError extends ArchiveError {
  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, kind: 'invalid', httpStatus: 400 });
  }
}

/** What the user asked for clashes with what exists (an account of that name): HTTP 409, the CLI's "invalid" exit code. */
export class ConflictError extends ArchiveError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, { kind: 'invalid', httpStatus: 409 });
  }
}

/** Something the user named (a corp, a key version) does not exist. */
export class NotFoundError extends ArchiveError {
  constructor(code: ErrorCode, message: string) {
    super(code, message, { kind: 'not_found', httpStatus: 404 });
  }
}

/** Decryption of a stored secret, an RSA key or a message failed. */
export class CryptoError extends ArchiveError {
  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, httpStatus: 500 });
  }
}
