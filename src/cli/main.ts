import { parseArgs } from 'node:util';
import { openApp, type App } from '../app/app.ts';
import { GLOBAL_OPTIONS, type GlobalFlags, loadConfig } from '../config/config.ts';
import { ArchiveError, ValidationError } from '../errors/errors.ts';
import { EXIT_INTERNAL, exitCodeOf } from './exit-codes.ts';
import type { Command, CommandIo, OptionValues } from './command.ts';
import { isDatabaseUnavailable } from '../store/database-health.ts';
import { DatabaseUnreachableError } from '../store/open-store.ts';
import { COMMANDS } from './commands/index.ts';

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.usage}\n      ${c.summary}`);
  return [
    'wecom-archive: keeps a WeCom (企业微信) chat archive complete, readable and searchable',
    '',
    'usage: wecom-archive [global options] COMMAND [options]',
    '',
    'commands:',
    ...lines,
    '',
    'global options (every command, before or after its name): --db URL (WECOM_ARCHIVE_DB), --data-dir DIR (WECOM_ARCHIVE_DATA_DIR),',
    '  --port P (WECOM_ARCHIVE_PORT), --log-level L (WECOM_ARCHIVE_LOG_LEVEL); master key from WECOM_ARCHIVE_MASTER_KEY',
    '  or DATA_DIR/master.key',
  ].join('\n');
}

/**
 * Splits the global options written before the command name (`--log-level trace run`) from the
 * rest. Only global options may come first: anything else there is refused by name.
 */
function leadingGlobals(argv: string[]): { globals: string[]; rest: string[] } {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '-h' && argv[i] !== '--help') {
    const arg = argv[i]!;
    const name = arg.replace(/^--/, '').split('=')[0]!;
    if (!arg.startsWith('--') || !Object.hasOwn(GLOBAL_OPTIONS, name)) {
      throw new ValidationError('USAGE', `${arg} is not a global option; options of a command go after its name\n\n${usage()}`);
    }
    // every global option but a boolean switch (--trust-proxy) takes a value: --name VALUE or --name=VALUE
    const isSwitch = GLOBAL_OPTIONS[name as keyof typeof GLOBAL_OPTIONS].type === 'boolean';
    const width = arg.includes('=') || isSwitch ? 1 : 2;
    if (i + width > argv.length) throw new ValidationError('USAGE', `${arg} needs a value`);
    i += width;
  }
  return { globals: argv.slice(0, i), rest: argv.slice(i) };
}

/** Finds the command named by the leading words of argv (`corp add`, `run`, …). */
function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const command = COMMANDS.find((c) => c.name === name);
    if (command) return { command, rest: argv.slice(words) };
  }
  return undefined;
}

/** Runs one CLI invocation; returns the exit code. */
export async function main(argv: string[], io: CommandIo): Promise<number> {
  let split: { globals: string[]; rest: string[] };
  try {
    split = leadingGlobals(argv);
  } catch (err) {
    io.err(`error: ${(err as Error).message}`);
    return 2;
  }
  const words = split.rest;
  if (words.length === 0 || words[0] === 'help' || words[0] === '--help' || words[0] === '-h') {
    io.out(usage());
    return words.length === 0 ? 2 : 0;
  }
  const found = findCommand(words);
  if (!found) {
    io.err(`error: unknown command "${words.slice(0, 2).join(' ')}"\n\n${usage()}`);
    return 2;
  }
  const { command } = found;
  // global options written before the command name count as if written after it
  const rest = command.ownArgs ? found.rest : [...split.globals, ...found.rest];
  let app: App | undefined;
  try {
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`usage: wecom-archive ${command.usage}\n  ${command.summary}`);
      return 0;
    }
    let parsed: { values: OptionValues; positionals: string[] };
    if (command.ownArgs) {
      // its own arguments are its own; global options before its name still set the config
      const globals = parseArgs({ args: split.globals, options: GLOBAL_OPTIONS, strict: true }).values;
      parsed = { values: globals, positionals: rest };
    } else {
      try {
        parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: command.allowPositionals ?? false, strict: true });
      } catch (err) {
        throw new ValidationError('USAGE', `${(err as Error).message}\nusage: wecom-archive ${command.usage}`);
      }
    }
    const config = loadConfig(parsed.values as GlobalFlags, io.env, io.cwd);
    if (command.store !== false) app = await openApp(config);
    const code = await command.run({ app, config, values: parsed.values, positionals: parsed.positionals, io });
    return code ?? 0;
  } catch (err) {
    if (err instanceof ArchiveError) {
      io.err(`error: ${err.message}`);
      return exitCodeOf(err);
    }
    // the database went away while the command ran: say so, not a stack trace
    if (app && isDatabaseUnavailable(err)) {
      io.err(`error: ${new DatabaseUnreachableError(app.store.dialect.displayUrl, err).message}`);
      return 1;
    }
    io.err(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    return EXIT_INTERNAL;
  } finally {
    await app?.close();
  }
}

const isEntry = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isEntry) {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (name: string) => {
    signals += 1;
    if (signals > 1) process.exit(130);
    process.stderr.write(`${name}: stopping (again to force)\n`);
    controller.abort(new Error(name));
  };
  // `export … | head`: a reader that went away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  const io: CommandIo = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    stdout: process.stdout,
    // touched only when a secret is read from it: a stdin stream once made can hold the process open
    get stdin() {
      return process.stdin;
    },
    cwd: process.cwd(),
    env: process.env,
    signal: controller.signal,
  };
  process.exitCode = await main(process.argv.slice(2), io);
}
