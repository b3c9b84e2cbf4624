/**
 * `run` with a corp whose secret cannot be opened says what is wrong with it, instead of showing a
 * "cursor 0" that reads as if the archive started over.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { openStore } from '../../src/store/open-store.ts';
import { privateCliData } from '../support/cli-runner.ts';

describe('run with a corp that cannot be started, through the CLI on SQLite', () => {
  const { dir, env } = privateCliData('wa-run-start-', 'silent');
  const cli = async (...args: string[]) => {
    const io = { code: 0, stdout: '', stderr: '' };
    io.code = await main(args, {
      out: (line) => void (io.stdout += `${line}\n`),
      err: (line) => void (io.stderr += `${line}\n`),
      stdout: new PassThrough(),
      cwd: dir,
      env,
      signal: new AbortController().signal,
    });
    return io;
  };

  it('prints why the corp cannot be archived, and no cursor', async () => {
    expect((await cli('corp', 'add', '--corpid', 'wwbroken', '--secret', 'archive-secret', '--sdk', 'simulator:http://127.0.0.1:9')).code).toBe(0);
    // the sealed secret damaged at rest (or sealed under another master key)
    const store = await openStore(`sqlite:${join(dir, 'data', 'archive.db')}`);
    await store.db
      .updateTable('corps')
      .set({ secret_sealed: `v1:${Buffer.alloc(48, 7).toString('base64')}` })
      .execute();
    await store.close();

    const run = await cli('run', '--once');
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('wwbroken'));
    expect(lines).toEqual([expect.stringMatching(/^wwbroken: cannot be archived: Could not open the secret stored for "[^"]+": the master key does not match/)]);
    expect(run.stderr).not.toContain('cursor 0');
  });
});
