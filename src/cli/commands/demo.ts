import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { httpUrl } from '../../api/http-url.ts';
import { defaultWebRoot } from '../../api/web-routes.ts';
import { type DemoLogin, startDemo } from '../../app/demo.ts';
import { createLogger } from '../../app/logger.ts';
import type { DirectorySample } from '../../directory/directory-sample.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString } from '../command.ts';
import { cliActor } from './access-flags.ts';
import { progressPrinter } from './run.ts';
import { parseListen } from './serve.ts';

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
    const listen = parseListen(optionalString(values, 'listen'), config.port);
    const running = await startDemo(a, createLogger(config.logLevel), {
      messages,
      rate,
      seed: optionalString(values, 'seed') ?? 'demo',
      listen,
      actor: cliActor(io.env),
      onProgress: progressPrinter(io),
    });
    try {
      const { corpid } = running;
      io.err(`demo: simulated corp ${corpid} at ${running.simulatorUrl} with ${messages} messages, ${rate} new per second`);
      io.err(`demo: archive in ${a.store.dialect.displayUrl}; HTTP server on ${httpUrl(listen.host, running.serverPort)} (status: /api/status, for signed-in admins)`);
      io.err(`demo: WeCom callbacks (msgaudit_notify, contact changes) arrive at ${running.callbackBase}/${corpid}/{contacts,customer,archive}`);
      io.err(`demo: web UI at ${running.uiUrl}${existsSync(join(defaultWebRoot(), 'index.html')) ? '' : ' (not built yet: run `npm run build`, then reload)'}`);
      io.err(describeLogin(running.login));
      io.err('demo: Ctrl-C to stop; then try `./bin/wecom-archive status` and `./bin/wecom-archive export --corp ' + corpid + ' --format jsonl` (with names under _archive.names)');
      await running.run(io.signal, (sample) => io.err(describeSample(sample)));
    } finally {
      await running.close();
    }
  },
};

/** The login, plainly: the password only when this demo made the account (it is shown this once). */
function describeLogin(login: DemoLogin): string {
  if (login.password !== undefined)
    return `demo: sign in as ${login.username} with password ${login.password} (a new admin account; shown only now; change it with \`./bin/wecom-archive users passwd ${login.username}\`)`;
  return `demo: sign in as ${login.username} (the account exists already, its password is not shown; set a new one with \`./bin/wecom-archive users passwd ${login.username}\`)`;
}

function describeSample(sample: DirectorySample): string {
  const who = sample.members.map((m) => `${m.userid} = ${m.name}`).join(', ');
  return `demo: directory synced: ${who}; groups ${sample.groups.join(', ')}; customers ${sample.externalContacts.join(', ')}`;
}
