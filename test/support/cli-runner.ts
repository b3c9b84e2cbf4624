import { PassThrough, Readable } from 'node:stream';
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
