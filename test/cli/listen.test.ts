/**
 * `run` and `demo` listen where `--listen` says (127.0.0.1 unless told), so `run` can face WeCom:
 * callbacks are answered from another address, /api/status to no one who is not signed in, loopback
 * included.
 */
import { networkInterfaces } from 'node:os';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { signedVerification } from '../../src/simulator/callbacks/callback-sender.ts';
import { startSimulator } from '../../src/simulator/server.ts';
import { eventually, rawRequest } from '../callbacks/harness.ts';
import { privateCliData } from '../support/cli-runner.ts';

/** An address of this machine that is not loopback, if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('--listen of run and demo, through the CLI on SQLite', () => {
  const { dir, env } = privateCliData('wa-listen-', 'warn');

  /** Starts a CLI command in this process; `stop()` aborts it and resolves with its exit code. */
  const start = (...args: string[]) => {
    const stopper = new AbortController();
    const io = { stdout: '', stderr: '' };
    const exited = main(args, {
      out: (line) => void (io.stdout += `${line}\n`),
      err: (line) => void (io.stderr += `${line}\n`),
      stdout: new PassThrough(),
      cwd: dir,
      env,
      signal: stopper.signal,
    });
    return {
      io,
      exited,
      stop: async () => {
        stopper.abort();
        return exited;
      },
    };
  };

  it('refuses a --listen that is not HOST:PORT, naming it', async () => {
    for (const command of ['run', 'demo']) {
      const c = start(command, '--listen', 'nowhere:port');
      expect(await c.exited).toBe(2);
      expect(c.io.stderr).toContain('--listen must be HOST:PORT');
    }
  });

  it.skipIf(outside === undefined)('run --listen 0.0.0.0:0 answers WeCom from another address, and status to no anonymous caller', async () => {
    const sim = await startSimulator({ messages: 20, seed: 'run-listen' });
    const corpid = sim.corp.corpid;
    try {
      const setup = async (...args: string[]) => expect(await start(...args).exited, args.join(' ')).toBe(0);
      await setup('corp', 'add', '--corpid', corpid, '--secret', sim.corp.secret, '--sdk', `simulator:${sim.url}`);
      const c = sim.api.callbackApps.contacts;
      await setup('corp', 'callback', 'add', '--corp', corpid, '--app', c.app, '--token', c.token, '--aes-key', c.encodingAesKey);

      const run = start('run', '--listen', '0.0.0.0:0', '--poll-interval', '60');
      try {
        const port = await eventually(async () => /archive HTTP server listening on http:\/\/0\.0\.0\.0:(\d+) /.exec(run.io.stderr)?.[1], 20_000, 'run to listen');
        const far = `http://${outside}:${port}`;
        const v = signedVerification(corpid, c, Math.floor(Date.now() / 1000));
        expect(await rawRequest(far, 'GET', `/callback/${corpid}/${c.app}?${v.query}`)).toMatchObject({ status: 200, body: v.echo });
        expect((await rawRequest(far, 'GET', '/api/status')).status).toBe(401);
        expect((await rawRequest(`http://127.0.0.1:${port}`, 'GET', '/api/status')).status).toBe(401);
      } finally {
        expect(await run.stop()).toBe(0);
      }
    } finally {
      await sim.close();
    }
  });

  it.skipIf(outside === undefined)("demo --listen serves where it is told, and points the simulator's callbacks at it", async () => {
    const demo = start('demo', '--messages', '20', '--listen', '0.0.0.0:0');
    try {
      const port = await eventually(async () => /HTTP server on http:\/\/0\.0\.0\.0:(\d+) /.exec(demo.io.stderr)?.[1], 30_000, 'demo to listen');
      expect(demo.io.stderr).toContain(`callbacks (msgaudit_notify, contact changes) arrive at http://127.0.0.1:${port}/callback/`);
      expect((await rawRequest(`http://${outside}:${port}`, 'GET', '/healthz')).status).toBe(200);
    } finally {
      await demo.stop();
    }
  });
});
