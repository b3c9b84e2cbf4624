import type { ParseArgsConfig } from 'node:util';
import type { App } from '../app/app.ts';
import type { Config } from '../config/config.ts';
import { ValidationError } from '../errors/errors.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
  /** for commands that stream (export) */
  readonly stdout: NodeJS.WritableStream;
  /** for secrets given as `-` (secret-input.ts); absent: nothing can be read */
  readonly stdin?: NodeJS.ReadableStream;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** aborted on SIGINT / SIGTERM */
  readonly signal: AbortSignal;
}

/**
 * One CLI command. A thin edge: parse and validate input, call one service, format the
 * answer. `run` receives an opened App unless `store: false`.
 */
export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly summary: string;
  readonly options: OptionSpec;
  readonly allowPositionals?: boolean;
  /** false: the command does not need the database (e.g. `simulator`) */
  readonly store?: false;
  /** the command parses its own arguments (they arrive as `positionals`); global options do not apply */
  readonly ownArgs?: true;
  run(ctx: { app: App | undefined; config: Config; values: OptionValues; positionals: string[]; io: CommandIo }): Promise<number | void>;
}

/** A required string option, or a ValidationError naming it. */
export function requireString(values: OptionValues, name: string, what: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new MissingOption(name, what);
  return v;
}

class MissingOption extends ValidationError {
  constructor(name: string, what: string) {
    super('OPTION_MISSING', `--${name} is required: ${what}`);
  }
}

export function optionalString(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** An App for commands that need one (the store was opened by main). */
export function needApp(app: App | undefined): App {
  if (!app) throw new Error('command declared store: false but needs the app');
  return app;
}
