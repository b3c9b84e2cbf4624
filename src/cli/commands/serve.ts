import { httpUrl } from '../../api/http-url.ts';
import { startArchiveProcess } from '../../app/archive-process.ts';
import { createLogger } from '../../app/logger.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString } from '../command.ts';

/** `HOST:PORT`, `:PORT`, `PORT` or `[IPv6]:PORT`; the host defaults to 127.0.0.1. */
export function parseListen(text: string | undefined, defaultPort: number): { host: string; port: number } {
  if (text === undefined) return { host: '127.0.0.1', port: defaultPort };
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]*))?:?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ValidationError('LISTEN_INVALID', `--listen must be HOST:PORT (e.g. 0.0.0.0:8080, [::]:8080 or :8080), got ${JSON.stringify(text)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export const serve: Command = {
  name: 'serve',
  usage: 'serve [--listen HOST:PORT]',
  summary: 'answer WeCom callbacks on /callback/{corpid}/{app}, handle their events and keep the directory in sync (pulls stay with `run`)',
  options: { listen: { type: 'string' } },
  async run({ app, config, values, io }) {
    const a = needApp(app);
    const { host, port } = parseListen(optionalString(values, 'listen'), config.port);
    const log = createLogger(config.logLevel);
    // msgaudit_notify is left to a `run` process: only the process that pulls can wake the pull.
    const running = await startArchiveProcess(a, log, { listen: { host, port }, callbacks: { handlePullNotifies: false } });
    io.err(`serving WeCom callbacks on ${httpUrl(host, running.server.port)}/callback/{corpid}/{app}`);
    const apps = await a.callbackApps.list();
    if (apps.length === 0) io.err('no callback configurations yet: add one with `wecom-archive corp callback add --corp ID --app NAME --token T --aes-key K`');
    for (const c of apps) io.err(`  ${c.corpid}/${c.app}: URL path /callback/${c.corpid}/${c.app}`);
    try {
      await running.run(io.signal);
    } finally {
      await running.close();
    }
  },
};
