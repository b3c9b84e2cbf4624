import type { ArchiveError, ErrorKind } from '../errors/errors.ts';

/** The process exit code of each kind of error: 2 asks the user to change the input or settings, 3 names something missing. */
const EXIT_CODES: Readonly<Record<ErrorKind, number>> = Object.freeze({ invalid: 2, not_found: 3, failed: 1 });

/** An error that is not an ArchiveError: a bug (EX_SOFTWARE of sysexits.h). */
export const EXIT_INTERNAL = 70;

/** The exit code the CLI ends with after this error. */
export function exitCodeOf(err: Pick<ArchiveError, 'kind'>): number {
  return EXIT_CODES[err.kind];
}
