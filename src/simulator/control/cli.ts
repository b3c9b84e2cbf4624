/**
 * `wecom-archive simulator …`: parse and check the flags (every bad one reported at once), start
 * the simulator, say where it listens, run until SIGINT/SIGTERM. Private keys and the corp secret
 * are never printed; they go to the --write-config file (mode 0600).
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ValidationError } from '../../errors/errors.ts';
import { SEQ_MAX } from '../../store/seq-codec.ts';
import { parseKeySchedule, type KeyScheduleEntry } from '../sdk/key-ring.ts';
import { startSimulator, type StartSimulatorOptions } from '../server.ts';
import { writeSimulatorConfig } from './corp-import-file-writer.ts';
import { parseFaultSpec, type FaultSpec } from './faults.ts';
import { loadFixtureFile } from './fixtures.ts';

export const SIMULATOR_USAGE =
  'simulator [--port P] [--host H] [--messages N | --fixtures FILE.jsonl] [--seed S] [--public-key VER=PEMFILE]... ' +
  '[--private-key VER=PEMFILE]... [--key-schedule "1:0,2:500"] [--write-config FILE] [--rate N] [--seq-start N] ' +
  '[--now TIME] [--span DURATION] [--freeze-clock] [--corpid ID] [--secret S] [--fault OP:WHAT[xCOUNT]]... [--prepare] ' +
  '[--media-md5 empty=R,wrong=R] [--large-files R] [--callback-url URL [--notify-interval DURATION]]';

const DEFAULT_PORT = 9100;
/** msgaudit_notify at most this often, as WeCom does when new chat data arrives */
const DEFAULT_NOTIFY_MS = 5_000;

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  messages: { type: 'string' },
  seed: { type: 'string' },
  fixtures: { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  'private-key': { type: 'string', multiple: true },
  'key-schedule': { type: 'string' },
  'write-config': { type: 'string' },
  rate: { type: 'string' },
  'seq-start': { type: 'string' },
  now: { type: 'string' },
  span: { type: 'string' },
  'freeze-clock': { type: 'boolean' },
  corpid: { type: 'string' },
  secret: { type: 'string' },
  fault: { type: 'string', multiple: true },
  prepare: { type: 'boolean' },
  'media-md5': { type: 'string' },
  'large-files': { type: 'string' },
  'callback-url': { type: 'string' },
  'notify-interval': { type: 'string' },
} as const;

export interface SimulatorCommandIo {
  out(line: string): void;
  /** stops the simulator when aborted; default: SIGINT or SIGTERM */
  signal?: AbortSignal;
}

interface ParsedFlags {
  options: StartSimulatorOptions;
  keyFiles: Array<{ version: number; file: string; kind: 'public' | 'private' }>;
  fixturesFile: string | undefined;
  configFile: string | undefined;
  /** --prepare: encrypt the initial messages ahead of time (benchmarks) */
  prepare: boolean;
  /** --callback-url: where WeCom's callbacks go (+ /{corpid}/{app}), with msgaudit_notify every notifyMs at most */
  callbacks: { url: string; notifyMs: number } | undefined;
}

/** Parses argv into simulator options; throws one ValidationError naming every bad flag. */
export function parseSimulatorFlags(argv: string[]): ParsedFlags {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: false; strict: true }>>['values'];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new ValidationError('OPTION_INVALID', `${(err as Error).message}\nusage: wecom-archive ${SIMULATOR_USAGE}`);
  }
  const problems: string[] = [];
  const int = (name: string, text: string | undefined, min: number, max: number): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < min || n > max) {
      problems.push(`--${name} must be an integer ${min}–${max}, got ${JSON.stringify(text)}`);
      return undefined;
    }
    return n;
  };

  const options: StartSimulatorOptions = {
    port: int('port', values.port, 0, 65535) ?? DEFAULT_PORT,
    host: values.host ?? '127.0.0.1',
    messages: int('messages', values.messages, 0, 100_000_000),
    seed: values.seed,
    corpid: values.corpid,
    secret: values.secret,
    freezeClock: values['freeze-clock'],
  };
  if (values.corpid !== undefined && !/^[A-Za-z0-9]{4,64}$/.test(values.corpid))
    problems.push(`--corpid must be letters and digits (like ww1234567890abcdef), got ${JSON.stringify(values.corpid)}`);
  if (values.secret !== undefined && values.secret.length < 8) problems.push('--secret must be at least 8 characters');
  if (values.fixtures !== undefined && values.messages !== undefined)
    problems.push('--fixtures and --messages exclude each other: fixtures are served instead of generated messages');

  if (values.rate !== undefined) {
    const rate = Number(values.rate);
    if (!/^\d+(\.\d+)?$/.test(values.rate) || rate > 100_000) problems.push(`--rate must be a number of messages per second, 0–100000, got ${JSON.stringify(values.rate)}`);
    else options.rate = rate;
  }
  if (values['seq-start'] !== undefined) {
    const text = values['seq-start'];
    if (!/^\d{1,20}$/.test(text) || BigInt(text) > SEQ_MAX) problems.push(`--seq-start must be an integer 0–18446744073709551615, got ${JSON.stringify(text)}`);
    else options.seqStart = BigInt(text);
  }
  if (values.now !== undefined) {
    const ms = /^\d+$/.test(values.now) ? Number(values.now) : Date.parse(values.now);
    if (!Number.isFinite(ms)) problems.push(`--now must be milliseconds since 1970 or an ISO date like 2025-03-01T09:00:00+08:00, got ${JSON.stringify(values.now)}`);
    else options.now = ms;
  }
  if (values.span !== undefined) {
    const ms = parseDuration(values.span);
    if (ms === undefined) problems.push(`--span must be a duration like 90s, 30m, 6h or 2d, got ${JSON.stringify(values.span)}`);
    else options.spanMs = ms;
  }

  let schedule: KeyScheduleEntry[] | undefined;
  if (values['key-schedule'] !== undefined) {
    try {
      schedule = parseKeySchedule(values['key-schedule']);
      options.keySchedule = schedule;
    } catch (err) {
      problems.push(`--key-schedule: ${(err as Error).message}`);
    }
  }
  const keyFiles: ParsedFlags['keyFiles'] = [];
  for (const kind of ['public', 'private'] as const) {
    for (const text of values[`${kind}-key`] ?? []) {
      const m = /^(\d{1,9})=(.+)$/.exec(text);
      if (!m || Number(m[1]) < 1) {
        problems.push(`--${kind}-key must be VERSION=PEMFILE with VERSION >= 1, got ${JSON.stringify(text)}`);
        continue;
      }
      const version = Number(m[1]);
      if (keyFiles.some((k) => k.version === version)) problems.push(`version ${version} is given more than one key`);
      keyFiles.push({ version, file: m[2] as string, kind });
    }
  }
  if (schedule) {
    for (const k of keyFiles)
      if (!schedule.some((e) => e.version === k.version)) problems.push(`--${k.kind}-key ${k.version}=… is not in --key-schedule ${values['key-schedule']}`);
  } else if (keyFiles.length > 1) {
    problems.push('with keys for several versions, give --key-schedule to say from which message each one is used, e.g. "1:0,2:500"');
  }

  // media on request: shares of empty / wrong md5sums, and of videos and zips of hundreds of MB
  const media: NonNullable<StartSimulatorOptions['media']> = {};
  const share = (text: string): number | undefined => (/^(0(\.\d+)?|1(\.0+)?)$/.test(text) ? Number(text) : undefined);
  if (values['media-md5'] !== undefined) {
    for (const part of values['media-md5'].split(',')) {
      const [name, rate] = part.split('=');
      const r = share(rate ?? '');
      if ((name !== 'empty' && name !== 'wrong') || r === undefined)
        problems.push(`--media-md5 must be like empty=0.1,wrong=0.05 (shares 0–1), got ${JSON.stringify(values['media-md5'])}`);
      else media[name === 'empty' ? 'emptyMd5Rate' : 'wrongMd5Rate'] = r;
    }
  }
  if (values['large-files'] !== undefined) {
    const r = share(values['large-files']);
    if (r === undefined) problems.push(`--large-files must be a share 0–1 of videos and zip files that are hundreds of MB, got ${JSON.stringify(values['large-files'])}`);
    else media.largeFileRate = r;
  }
  if ((media.emptyMd5Rate ?? 0.015) + (media.wrongMd5Rate ?? 0) > 1) problems.push('--media-md5: empty and wrong together cannot exceed 1');
  if (Object.keys(media).length) options.media = media;

  const faults: FaultSpec[] = [];
  for (const text of values.fault ?? []) {
    try {
      faults.push(parseFaultSpec(text));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  options.faults = faults;

  let callbacks: ParsedFlags['callbacks'];
  const notifyMs = values['notify-interval'] === undefined ? DEFAULT_NOTIFY_MS : parseDuration(values['notify-interval']);
  if (notifyMs === undefined || notifyMs < 100 || notifyMs > 86_400_000)
    problems.push(`--notify-interval must be a duration from 100ms to 1d, like 5s, got ${JSON.stringify(values['notify-interval'])}`);
  if (values['callback-url'] !== undefined) {
    const url = values['callback-url'];
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url) || !URL.canParse(url))
      problems.push(`--callback-url must be the archive's callback base, like http://127.0.0.1:8080/callback, got ${JSON.stringify(url)}`);
    else if (notifyMs !== undefined) callbacks = { url: url.replace(/\/+$/, ''), notifyMs };
  } else if (values['notify-interval'] !== undefined) problems.push('--notify-interval needs --callback-url');

  if (problems.length > 0) throw new ValidationError('OPTION_INVALID', `wecom-archive simulator: ${problems.join('; ')}`);
  return { options, keyFiles, fixturesFile: values.fixtures, configFile: values['write-config'], prepare: values.prepare === true, callbacks };
}

/** "90s", "30m", "6h", "2d", "1500ms" or plain milliseconds. */
function parseDuration(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text);
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}

/** Runs `wecom-archive simulator` until SIGINT/SIGTERM (or `io.signal`). */
export async function runSimulatorCommand(argv: string[], io: SimulatorCommandIo = { out: (line) => process.stdout.write(`${line}\n`) }): Promise<void> {
  const flags = parseSimulatorFlags(argv);
  const keys = new Map<number, string>();
  for (const k of flags.keyFiles) {
    let pem: string;
    try {
      pem = await readFile(k.file, 'utf8');
    } catch (err) {
      throw new ValidationError(
        'KEY_FILE_UNREADABLE',
        `cannot read the ${k.kind} key file ${k.file} for version ${k.version}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
    if (k.kind === 'public' && /PRIVATE KEY-----/.test(pem))
      throw new ValidationError('KEY_INVALID', `${k.file} holds a private key; pass it with --private-key ${k.version}=${k.file}`);
    if (k.kind === 'private' && !/PRIVATE KEY-----/.test(pem))
      throw new ValidationError('KEY_INVALID', `${k.file} does not hold a private key; pass a public key with --public-key ${k.version}=${k.file}`);
    keys.set(k.version, pem);
  }
  const fixtures = flags.fixturesFile === undefined ? undefined : await loadFixtureFile(flags.fixturesFile);

  const prepareEnvelopes = flags.prepare
    ? {
        path: join(tmpdir(), `wecom-simulator-${process.pid}.envelopes`),
        onProgress: (done: number, total: number) => io.out(`  preparing envelopes: ${done} of ${total}`),
      }
    : undefined;
  const sim = await startSimulator({ ...flags.options, keys, fixtures, ...(prepareEnvelopes ? { prepareEnvelopes } : {}) });
  try {
    const state = sim.state();
    io.out(`WeCom simulator listening on ${sim.url}`);
    io.out(
      `  corp ${sim.corp.corpid}: ${state.messages} messages (seq ${state.firstSeq || '-'}..${state.lastSeq || '-'}), key versions ${state.keys.map((k) => `${k.version}${k.hasPrivateKey ? '' : ' (public key only)'}`).join(', ')}${state.rate ? `, ${state.rate} new messages/s` : ''}`,
    );
    io.out(`  archive sdk setting: simulator:${sim.url}`);
    io.out(`  control API: ${sim.url}/control/state`);
    if (flags.callbacks) {
      sim.api.callbackTarget = flags.callbacks.url;
      io.out(
        `  callbacks go to ${flags.callbacks.url}/${sim.corp.corpid}/{contacts,customer,archive}; msgaudit_notify at most every ${flags.callbacks.notifyMs / 1000} s when new messages arrive`,
      );
    }
    if (flags.configFile !== undefined) {
      try {
        await writeSimulatorConfig(flags.configFile, sim);
      } catch (err) {
        throw new ValidationError('CONFIG_FILE_UNWRITABLE', `cannot write --write-config ${flags.configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
          cause: err,
        });
      }
      io.out(
        `  corp config (secrets, private keys and callback settings, mode 0600) written to ${flags.configFile}; import it with: wecom-archive corp import ${flags.configFile}`,
      );
    } else {
      io.out('  the corp secret and private keys are not printed; use --write-config FILE to hand them to the archive');
    }
    // WeCom says msgaudit_notify when new chat data arrives
    const stopNotifier = flags.callbacks ? sim.api.startNotifier(flags.callbacks.notifyMs) : undefined;
    try {
      await untilStopped(io.signal);
    } finally {
      stopNotifier?.();
    }
  } finally {
    await sim.close();
  }
  io.out('simulator stopped');
}

function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal) {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
