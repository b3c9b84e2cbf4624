import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll } from 'vitest';
import { main } from '../../src/cli/main.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One CLI invocation in this process, through main() as bin/wecom-archive runs it: what it printed
 * on each stream and its exit code. `stdin`, when given, is what the command reads from standard input.
 */
export async function runCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; stdin?: string }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => void (stdout += d.toString()));
  const code = await main(args, {
    out: (line) => void (stdout += `${line}\n`),
    err: (line) => void (stderr += `${line}\n`),
    stdout: sink,
    ...(options.stdin === undefined ? {} : { stdin: Readable.from([Buffer.from(options.stdin)]) }),
    cwd: options.cwd,
    env: options.env,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

/**
 * A folder of its own for CLI runs in this process, on the SQLite database in its data folder (not
 * the database or master key the environment names), removed after the enclosing describe: call it
 * inside one.
 */
export function privateCliData(prefix: string, logLevel: 'silent' | 'warn'): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: NodeJS.ProcessEnv = { ...process.env, WECOM_ARCHIVE_DATA_DIR: join(dir, 'data'), WECOM_ARCHIVE_LOG_LEVEL: logLevel, WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' };
  delete env.WECOM_ARCHIVE_DB;
  delete env.WECOM_ARCHIVE_MASTER_KEY;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir, env };
}
