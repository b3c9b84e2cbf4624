import { createLogger } from '../../app/logger.ts';
import { httpUrl } from '../../api/http-url.ts';
import { DEFAULT_TIMING, startArchiveProcess } from '../../app/archive-process.ts';
import type { CorpProgress } from '../../app/archive-process.ts';
import { waitingGroups } from '../../decrypt/waiting-envelopes.ts';
import { ValidationError } from '../../errors/errors.ts';
import { type Command, type CommandIo, needApp, optionalString } from '../command.ts';
import { parseListen } from './serve.ts';
import { describeWaiting } from './status.ts';

/** One progress line per corp, with the rate since the previous report. */
export function progressPrinter(io: CommandIo): (progress: readonly CorpProgress[]) => void {
  const before = new Map<string, { messages: number; at: number }>();
  return (progress) => {
    const now = Date.now();
    for (const p of progress) {
      if (p.notStarted) {
        // no cursor was read, so none is shown: "cursor 0" would say the archive starts over
        io.err(`${p.corpid}: cannot be archived: ${p.lastError ?? 'unknown reason'}`);
        continue;
      }
      const prev = before.get(p.corpid);
      const rate = prev && now > prev.at ? Math.round(((p.messages - prev.messages) * 1000) / (now - prev.at)) : 0;
      before.set(p.corpid, { messages: p.messages, at: now });
      const err = p.lastError ? `  last error: ${p.lastError.slice(0, 160)}` : '';
      // a process that does not hold the pull has no cursor of its own to show (status has the corp's)
      const pull = p.pullHeldBy ? `pull held by ${p.pullHeldBy}` : `cursor ${p.cursor}`;
      io.err(`${p.corpid}: ${pull}  envelopes +${p.envelopes}  messages +${p.messages} (${rate}/s)  waiting +${p.failures}  ${p.state}${err}`);
    }
  };
}

export const run: Command = {
  name: 'run',
  usage: 'run [--once [--retry-for S]] [--poll-interval S] [--pull-lease S] [--max-corps N] [--listen HOST:PORT]',
  summary:
    "archive every configured corp until stopped (--once: catch up, decrypt, retry failed decryptions for up to S seconds (60), exit; 1 if some still wait for a retry); --pull-lease: how long a dead process on another host keeps a corp (60 s plus the corp's timeout); --max-corps: pull at most N corps, leaving the rest to other processes; --listen: where WeCom callbacks are served (default 127.0.0.1:--port)",
  options: {
    once: { type: 'boolean' },
    'poll-interval': { type: 'string' },
    'pull-lease': { type: 'string' },
    'max-corps': { type: 'string' },
    'retry-for': { type: 'string' },
    listen: { type: 'string' },
  },
  async run({ app, config, values, io }) {
    const a = needApp(app);
    const log = createLogger(config.logLevel);
    const pollText = typeof values['poll-interval'] === 'string' ? values['poll-interval'] : undefined;
    const pollIntervalMs = pollText === undefined ? undefined : Number(pollText) * 1000;
    if (pollIntervalMs !== undefined && !(pollIntervalMs >= 100 && pollIntervalMs <= 3_600_000)) {
      throw new ValidationError('POLL_INTERVAL_INVALID', '--poll-interval must be 0.1–3600 seconds');
    }
    const pullLeaseMs = pullLeaseOption(optionalString(values, 'pull-lease'), pollIntervalMs ?? DEFAULT_TIMING.pollIntervalMs);
    const maxText = optionalString(values, 'max-corps');
    if (maxText !== undefined && !/^[1-9]\d{0,5}$/.test(maxText))
      throw new ValidationError('OPTION_INVALID', `--max-corps must be a whole number 1–999999, got ${JSON.stringify(maxText)}`);
    const once = values.once === true;
    const retryText = typeof values['retry-for'] === 'string' ? values['retry-for'] : undefined;
    const onceRetryMs = retryText === undefined ? undefined : Number(retryText) * 1000;
    if (retryText !== undefined && !once) throw new ValidationError('RETRY_FOR_INVALID', '--retry-for goes with --once: how long a one-shot run keeps retrying failed decryptions');
    if (onceRetryMs !== undefined && !(retryText!.trim() !== '' && onceRetryMs >= 0 && onceRetryMs <= 3_600_000)) {
      throw new ValidationError('RETRY_FOR_INVALID', `--retry-for must be 0–3600 seconds, got ${JSON.stringify(retryText)}`);
    }
    const { host, port } = parseListen(optionalString(values, 'listen'), config.port);
    // Callbacks, their events and the directory run beside the pulls (not in --once).
    const running = await startArchiveProcess(a, log, {
      ...(once ? {} : { listen: { host, port }, callbacks: { handlePullNotifies: true } }),
      archive: {
        once,
        onProgress: progressPrinter(io),
        ...(maxText === undefined ? {} : { maxCorps: Number(maxText) }),
        timing: { ...(pollIntervalMs ? { pollIntervalMs } : {}), ...(pullLeaseMs ? { pullLeaseMs } : {}), ...(onceRetryMs !== undefined ? { onceRetryMs } : {}) },
      },
    });
    if (running.server) io.err(`archive HTTP server listening on ${httpUrl(host, running.server.port)} (WeCom callbacks: /callback/{corpid}/{app})`);
    try {
      const result = await running.run(io.signal);
      const stopped = result.filter((p) => p.state !== 'ok');
      for (const p of stopped.filter((s) => !s.notStarted)) io.err(`${p.corpid}: ${p.state}: ${p.lastError ?? ''}`);
      const unfinished = once ? await reportWaiting(a.store.db, result, io) : 0;
      return stopped.length || unfinished ? 1 : 0;
    } finally {
      await running.close();
    }
  },
};

/**
 * `--pull-lease S` in ms, or undefined when not given. A shorter lease lets processes on other hosts
 * take a dead process's corps over sooner; it must outlast the poll interval, or a holder that is
 * caught up would lose its corps between two polls and they would move from process to process.
 */
export function pullLeaseOption(text: string | undefined, pollIntervalMs: number): number | undefined {
  if (text === undefined) return undefined;
  const ms = Number(text) * 1000;
  if (text.trim() === '' || !(ms >= 1000 && ms <= 3_600_000)) throw new ValidationError('PULL_LEASE_INVALID', `--pull-lease must be 1–3600 seconds, got ${JSON.stringify(text)}`);
  if (ms < pollIntervalMs) throw new ValidationError('PULL_LEASE_INVALID', `--pull-lease (${text} s) must be at least the poll interval (${pollIntervalMs / 1000} s)`);
  return ms;
}

/**
 * After `run --once`: what is left waiting, per corp and reason (everything stays stored). Returns
 * how many corps this run decrypted still have envelopes waiting for an automatic retry: the run
 * could not finish its work in its retry time, and a cron job should hear of it.
 */
async function reportWaiting(db: Parameters<typeof waitingGroups>[0], progress: readonly CorpProgress[], io: CommandIo): Promise<number> {
  const now = Date.now();
  const waiting = await waitingGroups(db, now);
  let unfinished = 0;
  for (const p of progress) {
    const groups = waiting.get(p.corpid);
    if (!groups?.length) continue;
    const count = groups.reduce((n, g) => n + g.count, 0);
    io.err(`${p.corpid}: ${count} envelope${count === 1 ? '' : 's'} left waiting (stored, not decrypted):`);
    for (const g of groups) io.err(`  ${describeWaiting(p.corpid, g, now)}`);
    // another process holds this corp's pull and decrypts it: its retries are not this run's
    if (p.pullHeldBy === undefined && groups.some((g) => g.retry === 'automatic')) unfinished += 1;
  }
  return unfinished;
}
