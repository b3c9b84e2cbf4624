/**
 * Typed errors with stable codes. Every error the archive raises on purpose is an ArchiveError;
 * the CLI maps `exitCode`, the HTTP layer maps `httpStatus`. WeCom's own codes are kept as they are
 * in `wecomCode` and explained in the message (see wecom-codes.ts).
 */
export class ArchiveError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly httpStatus: number;

  constructor(code: string, message: string, options: { cause?: unknown; exitCode?: number; httpStatus?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
    this.httpStatus = options.httpStatus ?? 500;
  }
}

/** A setting (flag, environment variable, config file) is missing or invalid. */
export class ConfigError extends ArchiveError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('CONFIG_INVALID', message, { ...options, exitCode: 2, httpStatus: 400 });
  }
}

/** Input from a user, a file or the network failed validation. */
export class ValidationError extends ArchiveError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 2, httpStatus: 400 });
  }
}

/** Something the user named (a corp, a key version) does not exist. */
export class NotFoundError extends ArchiveError {
  constructor(code: string, message: string) {
    super(code, message, { exitCode: 3, httpStatus: 404 });
  }
}

/** Decryption of a stored secret, an RSA key or a message failed. */
export class CryptoError extends ArchiveError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: 1, httpStatus: 500 });
  }
}
