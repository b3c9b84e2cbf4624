import { type ChildProcess, spawn } from 'node:child_process';

const BIN = new URL('../../bin/wecom-archive', import.meta.url).pathname;

/** A bin/wecom-archive child process, its stderr collected. */
export interface ArchiveProcess {
  readonly child: ChildProcess;
  /** its exit code (null when killed), once it has exited */
  readonly exited: Promise<number | null>;
  alive(): boolean;
  /** what it wrote on stderr so far */
  log(): string;
}

/**
 * The environment of an archive process: this one's, the master key appOn seals with (so the child
 * opens the secrets a test registered), and `settings` (WECOM_ARCHIVE_DB, WECOM_ARCHIVE_DATA_DIR, …).
 */
export function archiveEnv(settings: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, WECOM_ARCHIVE_MASTER_KEY: '03'.repeat(32), ...settings };
}

/** Starts bin/wecom-archive with `args` in `env` (see archiveEnv), as a user would from a shell. */
export function spawnArchive(args: string[], env: NodeJS.ProcessEnv): ArchiveProcess {
  let stderr = '';
  let alive = true;
  const child = spawn(BIN, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      alive = false;
      resolve(code);
    }),
  );
  return { child, exited, alive: () => alive, log: () => stderr };
}
