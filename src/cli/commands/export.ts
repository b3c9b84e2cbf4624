import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { ValidationError } from '../../errors/errors.ts';
import { exportJsonl } from '../../export/export-jsonl.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';

/** `--since` / `--until`: an ISO date or date-time (UTC unless it says otherwise) or epoch milliseconds. */
export function parseTimeOption(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d{10,16}$/.test(text)) return Number(text);
  const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(ms)) throw new ValidationError('TIME_INVALID', `--${name} must be an ISO date (2026-11-23 or 2026-11-23T08:00:00+08:00) or epoch milliseconds, got ${JSON.stringify(text)}`);
  return ms;
}

export const exportCommand: Command = {
  name: 'export',
  usage: 'export --corp ID --format jsonl [--out FILE] [--since T] [--until T]',
  summary: 'write a corp\'s archive out, one message per line (streams; --out is written atomically)',
  options: { corp: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' } },
  async run({ app, values, io }) {
    const corpid = requireString(values, 'corp', 'the corp ID to export');
    const format = optionalString(values, 'format') ?? 'jsonl';
    if (format !== 'jsonl') throw new ValidationError('FORMAT_UNSUPPORTED', `--format ${format} is not supported; use jsonl`);
    const since = parseTimeOption(optionalString(values, 'since'), 'since');
    const until = parseTimeOption(optionalString(values, 'until'), 'until');
    const out = optionalString(values, 'out');
    // Into a side file first: a reader of FILE never sees half an export.
    const partial = out ? `${out}.partial` : undefined;
    const stream = partial ? createWriteStream(partial, { mode: 0o600 }) : io.stdout;
    let count = 0;
    try {
      for await (const line of exportJsonl(needApp(app).store.db, corpid, { since, until })) {
        if (!stream.write(`${line}\n`)) await once(stream, 'drain');
        count += 1;
        if (io.signal.aborted) throw new ValidationError('INTERRUPTED', 'export interrupted');
      }
      if (partial && out) {
        await new Promise<void>((resolve) => stream.end(() => resolve()));
        renameSync(partial, out);
      }
    } catch (err) {
      if (partial) {
        stream.end();
        rmSync(partial, { force: true });
      }
      throw err;
    }
    io.err(`exported ${count} messages of ${corpid}${out ? ` to ${out}` : ''}`);
  },
};
