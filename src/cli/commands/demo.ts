import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHttpServer } from '../../api/http-server.ts';
import { createLogger } from '../../app/logger.ts';
import { runArchive } from '../../archiver/archive-runner.ts';
import { ValidationError } from '../../errors/errors.ts';
import { startSimulator } from '../../simulator/server.ts';
import { createCallbackServices } from '../callback-services.ts';
import type { App } from '../../app/app.ts';
import { sleep } from '../../runtime/sleep.ts';
import { type Command, needApp, optionalString } from '../command.ts';
import { progressPrinter } from './run.ts';
import { httpUrl, parseListen } from './serve.ts';

function positiveNumber(text: string | undefined, name: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n > max) throw new ValidationError('OPTION_INVALID', `--${name} must be a number 0–${max}, got ${JSON.stringify(text)}`);
  return n;
}

export const demo: Command = {
  name: 'demo',
  usage: 'demo [--messages N] [--rate N] [--seed S] [--listen HOST:PORT]',
  summary: 'run a simulated WeCom corp and archive it, in one command (what `npm start` runs)',
  options: { messages: { type: 'string' }, rate: { type: 'string' }, seed: { type: 'string' }, listen: { type: 'string' } },
  async run({ app, config, values, io }) {
    const a = needApp(app);
    const messages = positiveNumber(optionalString(values, 'messages'), 'messages', 2000, 10_000_000);
    const rate = positiveNumber(optionalString(values, 'rate'), 'rate', 2, 10_000);
    const { host, port } = parseListen(optionalString(values, 'listen'), config.port);
    // The simulator's key is kept in the data dir so a second demo reuses the archive it made.
    const keyDir = join(config.dataDir, 'demo');
    const keyFile = join(keyDir, 'simulator-key-v1.pem');
    const keys = existsSync(keyFile) ? new Map([[1, readFileSync(keyFile, 'utf8')]]) : undefined;
    const sim = await startSimulator({ messages, rate, seed: optionalString(values, 'seed') ?? 'demo', ...(keys ? { keys } : {}) });
    try {
      if (!keys) {
        mkdirSync(keyDir, { recursive: true, mode: 0o700 });
        writeFileSync(keyFile, sim.privateKeyPems.get(1)!, { mode: 0o600 });
      }
      await a.corps.add({ corpid: sim.corp.corpid, secret: sim.corp.secret, sdk: { kind: 'simulator', url: sim.url }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 10 }, { replace: true });
      for (const [version, pem] of sim.privateKeyPems) await a.keys.add(sim.corp.corpid, version, pem);
      // The directory's secrets and the three callback configurations, as an admin would paste them.
      const corpid = sim.corp.corpid;
      await a.apiSettings.set(corpid, { contactsSecret: sim.api.secrets.contacts, customerSecret: sim.api.secrets.customer });
      for (const c of Object.values(sim.api.callbackApps)) await a.callbackApps.add({ corpid, app: c.app, token: c.token, aesKey: c.encodingAesKey }, { replace: true });
      const log = createLogger(config.logLevel);
      const services = createCallbackServices(a, log, { handlePullNotifies: true, directoryTiming: { scanIntervalMs: 5_000 } });
      const server = await startHttpServer(a, port, log, host, { callbacks: services.route });
      // The simulator announces new data with msgaudit_notify, as WeCom does (at most every 5 s here);
      // a wildcard address is reached through loopback.
      const base = httpUrl(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, server.port);
      sim.api.callbackTarget = `${base}/callback`;
      const stopNotifier = sim.api.startNotifier(5_000);
      io.err(`demo: simulated corp ${sim.corp.corpid} at ${sim.url} with ${messages} messages, ${rate} new per second`);
      io.err(`demo: archive in ${a.store.dialect.displayUrl}; HTTP server on ${httpUrl(host, server.port)} (status: /api/status, from this machine only)`);
      io.err(`demo: WeCom callbacks (msgaudit_notify, contact changes) arrive at ${base}/callback/${corpid}/{contacts,customer,archive}`);
      io.err('demo: Ctrl-C to stop; then try `./bin/wecom-archive status` and `./bin/wecom-archive export --corp ' + sim.corp.corpid + ' --format jsonl` (with names under _archive.names)');
      const background = services.run(io.signal);
      const shown = showDirectoryOnce(a, corpid, io.err, io.signal);
      try {
        // A long poll interval: new messages are pulled when msgaudit_notify says so.
        await runArchive(a, log, io.signal, { once: false, onProgress: progressPrinter(io), timing: { pollIntervalMs: 30_000 }, onStarted: (archivers) => services.waker.attach(archivers) });
      } finally {
        stopNotifier();
        await background;
        await shown;
        services.close();
        await server.close();
      }
    } finally {
      await sim.close();
    }
  },
};

/** Once the directory has names, says so with a few examples (the demo's proof that names work). */
async function showDirectoryOnce(app: App, corpid: string, say: (line: string) => void, signal: AbortSignal): Promise<void> {
  for (let i = 0; i < 120 && !signal.aborted; i++) {
    await sleep(1_000, signal);
    const db = app.store.db;
    const members = await db.selectFrom('dir_members').select(['userid', 'name']).where('corpid', '=', corpid).where('name', 'is not', null).limit(3).execute().catch(() => []);
    const groups = await db.selectFrom('dir_groups').select(['name']).where('corpid', '=', corpid).where('name', 'is not', null).limit(2).execute().catch(() => []);
    const externals = await db.selectFrom('dir_external_contacts').select(['name']).where('corpid', '=', corpid).where('name', 'is not', null).limit(2).execute().catch(() => []);
    if (members.length && groups.length && externals.length) {
      const who = members.map((m) => `${m.userid} = ${m.name}`).join(', ');
      say(`demo: directory synced: ${who}; groups ${groups.map((g) => g.name).join(', ')}; customers ${externals.map((e) => e.name).join(', ')}`);
      return;
    }
  }
}
