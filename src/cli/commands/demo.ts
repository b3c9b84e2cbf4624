import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../api/http-server.ts';
import { createLogger } from '../../app/logger.ts';
import { runArchive } from '../../archiver/archive-runner.ts';
import { ValidationError } from '../../errors/errors.ts';
import { startSimulator } from '../../simulator/server.ts';
import { type Command, needApp, optionalString } from '../command.ts';
import { progressPrinter } from './run.ts';

function positiveNumber(text: string | undefined, name: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n > max) throw new ValidationError('OPTION_INVALID', `--${name} must be a number 0–${max}, got ${JSON.stringify(text)}`);
  return n;
}

export const demo: Command = {
  name: 'demo',
  usage: 'demo [--messages N] [--rate N] [--seed S]',
  summary: 'run a simulated WeCom corp and archive it, in one command (what `npm start` runs)',
  options: { messages: { type: 'string' }, rate: { type: 'string' }, seed: { type: 'string' } },
  async run({ app, config, values, io }) {
    const a = needApp(app);
    const messages = positiveNumber(optionalString(values, 'messages'), 'messages', 2000, 10_000_000);
    const rate = positiveNumber(optionalString(values, 'rate'), 'rate', 2, 10_000);
    // The simulator's key is kept in the data dir so a second demo reuses the archive it made.
    const keyDir = join(config.dataDir, 'demo');
    const keyFile = join(keyDir, 'simulator-key-v1.pem');
    const keys = existsSync(keyFile) ? new Map([[1, readFileSync(keyFile, 'utf8')]]) : undefined;
    const sim = await startSimulator({ messages, rate, seed: optionalString(values, 'seed') ?? 'demo', ...(keys ? { keys } : {}) });
    try {
      if (!keys) {
        mkdirSync(keyDir, { recursive: true });
        writeFileSync(keyFile, sim.privateKeyPems.get(1)!, { mode: 0o600 });
      }
      await a.corps.add({ corpid: sim.corp.corpid, secret: sim.corp.secret, sdk: { kind: 'simulator', url: sim.url }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 10 }, { replace: true });
      for (const [version, pem] of sim.privateKeyPems) await a.keys.add(sim.corp.corpid, version, pem);
      const log = createLogger(config.logLevel);
      const server = await startHttpServer(a, config.port, log);
      io.err(`demo: simulated corp ${sim.corp.corpid} at ${sim.url} with ${messages} messages, ${rate} new per second`);
      io.err(`demo: archive in ${a.store.dialect.displayUrl}; HTTP server on http://127.0.0.1:${server.port} (status: /api/status)`);
      io.err('demo: Ctrl-C to stop; then try `./bin/wecom-archive status` and `./bin/wecom-archive export --corp ' + sim.corp.corpid + ' --format jsonl`');
      try {
        await runArchive(a, log, io.signal, { once: false, onProgress: progressPrinter(io), timing: { pollIntervalMs: 1_000 } });
      } finally {
        await server.close();
      }
    } finally {
      await sim.close();
    }
  },
};
