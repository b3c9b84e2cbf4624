import { pino, type Logger } from 'pino';
import type { LogLevel } from '../config/config.ts';

export type { Logger };

/**
 * Structured logs on stderr (stdout belongs to command output). Callers add `corp` and `stage` with
 * `child()`. Never pass a secret, a private key or a decrypted message body to a logger (docs/design.md rule 6).
 */
export function createLogger(level: LogLevel): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}
