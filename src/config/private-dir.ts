/**
 * Directories the archive creates for itself (data directory, the SQLite file's directory, media and
 * partial downloads). They hold decrypted chats, so a new one is made 0700; a directory that already
 * exists is the user's choice and keeps its mode.
 */
import { accessSync, constants as fsConstants, mkdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { ConfigError } from '../errors/errors.ts';

/** Kernel file systems: nothing can be created there, and Node's recursive mkdir loops forever under /proc. */
const PSEUDO_ROOTS = ['/proc', '/sys'];

/**
 * Why `dir` (absolute) could not be created, or undefined if it exists as a directory or can be made.
 * Walks up to the nearest ancestor that exists and refuses it when it is not a directory, lies
 * under /proc or /sys, or (with `writable`) cannot be written.
 */
export function dirCreationProblem(dir: string, options: { writable: boolean }): string | undefined {
  let existing = dir;
  for (;;) {
    const kind = entryKind(existing);
    if (kind === 'directory') break;
    if (kind === 'other') return existing === dir ? 'it exists and is not a directory' : `${existing} is not a directory`;
    if (kind !== 'missing') return `${existing} cannot be read (${kind.error})`;
    const parent = dirname(existing);
    if (parent === existing) return `no part of it exists`;
    existing = parent;
  }
  let real: string;
  try {
    real = realpathSync(existing);
  } catch (err) {
    return `${existing} cannot be resolved (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const pseudo = PSEUDO_ROOTS.find((root) => real === root || real.startsWith(`${root}${sep}`));
  if (pseudo) return `it is under ${pseudo}, a kernel file system that holds no files`;
  if (existing === dir || !options.writable) return undefined;
  try {
    accessSync(existing, fsConstants.W_OK | fsConstants.X_OK);
  } catch {
    return `${existing} is not writable`;
  }
  return undefined;
}

/**
 * Makes `dir` and any missing parents with mode 0700, after checking that it can be made (a clear
 * ConfigError naming `what` and the path, never a loop or a stack trace). An existing directory is
 * left as it is.
 */
export function makePrivateDir(dir: string, what: string): void {
  const problem = dirCreationProblem(dir, { writable: true });
  if (problem) throw new ConfigError(`cannot create the ${what} ${dir}: ${problem}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new ConfigError(`cannot create the ${what} ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
}

function entryKind(path: string): 'directory' | 'other' | 'missing' | { error: string } {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a file sits where a directory of the path should be; the walk up finds and names it
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    return { error: code ?? (err as Error).message };
  }
}
