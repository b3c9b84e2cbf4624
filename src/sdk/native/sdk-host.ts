/**
 * One SDK host child process, seen from the parent: start it (load the library, NewSdk, Init), run
 * one call at a time under a deadline, and notice when it dies. It never retries anything itself:
 * host-pool.ts decides what a death means for the call that was running.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ArchiveError } from '../../errors/errors.ts';
import { MEDIA_CHUNK_MAX } from '../backend.ts';
import { SdkCallError, SdkLoadError } from './finance-sdk-binding.ts';
import { type CallArgs, type DecryptItemResult, type FromHost, OPERATION_NAMES, parseFromHost, type ToHost } from './host-protocol.ts';

// The host runs the same code as the archive that starts it: compiled into dist/
// (scripts/build.mjs), dist/host-main.mjs beside this bundle, with no loader; from the sources
// (the CLI through tsx, vitest, a benchmark), host-main.ts through the tsx loader.
const COMPILED = import.meta.url.endsWith('.mjs');
const HOST_MAIN = fileURLToPath(new URL(COMPILED ? './host-main.mjs' : './host-main.ts', import.meta.url));
const HOST_LOADER = COMPILED ? [] : ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
const STDERR_TAIL = 2048;

/** How a host process ended. */
export interface HostExit {
  signal: NodeJS.Signals | null;
  exitCode: number | null;
  /** the last line the process wrote on stderr (e.g. glibc's "free(): invalid pointer"), sanitized */
  lastStderrLine: string;
}

export type HostDeath = ({ cause: 'crash' } & HostExit) | ({ cause: 'hang'; afterMs: number } & HostExit) | ({ cause: 'protocol'; problem: string } & HostExit);

/** The host died while a call (or its start) was running; the call did not complete. */
export class HostDiedError extends ArchiveError {
  constructor(
    readonly death: HostDeath,
    readonly operation: string | null,
  ) {
    super('SDK_HOST_DIED', `the SDK host process ${describeDeath(death)}${operation ? ` during ${operation}` : ''}`);
  }
}

/** "was killed by SIGSEGV", "hung for 6.0 s and was killed", … */
export function describeDeath(death: HostDeath): string {
  const how = death.signal ? `was killed by ${death.signal}` : `exited with code ${death.exitCode}`;
  const said = death.lastStderrLine ? ` (stderr: ${death.lastStderrLine})` : '';
  switch (death.cause) {
    case 'crash':
      return `${how}${said}`;
    case 'hang':
      return `did not answer within ${(death.afterMs / 1000).toFixed(1)} s and was killed`;
    case 'protocol':
      return `sent a malformed answer (${death.problem}) and was killed`;
  }
}

export interface HostAnswer {
  data: Buffer;
  outIndex: string;
  isFinish: boolean;
  /** of a `decrypt-many` call: one answer per message, in order */
  items?: DecryptItemResult[];
  /** the host's resident set size after the call */
  rss: number;
}

export interface SdkHostOptions {
  libPath: string;
  corpid: string;
  secret: string;
  /** environment of the child; the parent's by default */
  env?: NodeJS.ProcessEnv;
  /** time allowed to start node, load the library and Init */
  startTimeoutMs?: number;
  /** only load the library and resolve its functions, no NewSdk/Init (calls then fail) */
  loadOnly?: boolean;
}

/** Printable, single-line, short: stderr of native code is shown to users and logged. */
function lastLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '').trim())
    .filter(Boolean);
  return (lines.at(-1) ?? '').slice(0, 200);
}

interface Running {
  id: number;
  operation: string;
  /** a `decrypt-many` call: how many answers it must bring */
  items: number | undefined;
  resolve(answer: HostAnswer): void;
  reject(err: unknown): void;
  timer: NodeJS.Timeout;
}

export class SdkHost {
  readonly pid: number;
  /** the host's last reported resident set size, in bytes */
  rss = 0;
  private running: Running | undefined;
  private nextId = 1;
  private stderrTail = '';
  private killedFor: { cause: 'hang'; afterMs: number } | { cause: 'protocol'; problem: string } | undefined;
  private exitInfo: HostExit | undefined;
  private readonly exited: Promise<HostExit>;
  private exitListener: ((death: HostDeath) => void) | undefined;
  private retiring = false;

  private constructor(private readonly child: ChildProcess) {
    this.pid = child.pid ?? -1;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL);
    });
    this.exited = new Promise<HostExit>((resolve) => {
      const ended = (exitCode: number | null, signal: NodeJS.Signals | null, note?: string) => {
        if (this.exitInfo) return;
        this.exitInfo = { signal, exitCode, lastStderrLine: note ?? lastLine(this.stderrTail) };
        resolve(this.exitInfo);
      };
      // 'close' comes after the exit and after stderr is drained, so the tail is complete.
      child.once('close', (code, signal) => ended(code, signal));
      // A process that could not be started at all never closes; a failed kill or send is
      // reported by 'close' later.
      child.on('error', (err: NodeJS.ErrnoException) => {
        if (child.pid === undefined) ended(null, null, `could not start node: ${err.code ?? err.message}`);
      });
    });
    this.exited.then((exit) => this.onExit(exit));
    child.on('message', (raw: unknown) => this.onMessage(raw));
    // Neither the process nor its channel keeps the parent alive; a running call's timer does.
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  /**
   * Starts a host and initialises its SDK instance. Rejects with SdkLoadError (library missing,
   * unloadable or incomplete), WeComSdkError (Init's code) or HostDiedError (it crashed on the way).
   */
  static async start(opts: SdkHostOptions): Promise<SdkHost> {
    const child = fork(HOST_MAIN, [], {
      // A small young generation: a host holds at most one call's data, and V8's default lets the
      // heap (and so RSS) creep up by ~40 MB before it settles, which would blur the memory ceiling.
      execArgv: ['--max-semi-space-size=2', ...HOST_LOADER],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      ...(opts.env ? { env: opts.env } : {}),
    });
    const host = new SdkHost(child);
    const timeoutMs = opts.startTimeoutMs ?? 60_000;
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        host.killedFor = { cause: 'hang', afterMs: timeoutMs };
        child.kill('SIGKILL');
      }, timeoutMs);
      host.startWaiter = (msg) => {
        clearTimeout(timer);
        if (msg.t === 'ready') resolve();
        else
          reject(
            msg.stage === 'init' && msg.code !== null
              ? new SdkCallError(msg.code, 'Init')
              : msg.stage === 'init'
                ? new ArchiveError('SDK_INIT_FAILED', msg.message)
                : new SdkLoadError(msg.stage, msg.message, msg.missing),
          );
      };
      host.exited.then(() => {
        clearTimeout(timer);
        reject(new HostDiedError(host.deathOf(host.exitInfo!), 'Init'));
      });
    });
    host.send({ t: 'init', libPath: opts.libPath, corpid: opts.corpid, secret: opts.secret, loadOnly: opts.loadOnly ?? false });
    try {
      await ready;
    } catch (err) {
      if (!host.exitInfo) {
        // Init failed cleanly: the host already destroyed its instance; let it go.
        await host.retire(2_000);
      }
      throw err;
    }
    return host;
  }

  private startWaiter: ((msg: Extract<FromHost, { t: 'ready' | 'init-failed' }>) => void) | undefined;

  get alive(): boolean {
    return this.exitInfo === undefined && !this.retiring;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Called if the process dies on its own while idle (a death during a call rejects that call). */
  onDeath(listener: (death: HostDeath) => void): void {
    this.exitListener = listener;
  }

  /**
   * Runs one SDK call. Resolves with the output, rejects with the SDK's WeComSdkError, or with
   * HostDiedError when the process crashed, broke protocol or missed `deadlineMs` (it is then
   * killed with SIGKILL: a hung native call cannot be interrupted any other way).
   */
  call(args: CallArgs, deadlineMs: number): Promise<HostAnswer> {
    const operation = OPERATION_NAMES[args.op];
    if (!this.alive) return Promise.reject(new HostDiedError(this.deathOf(this.exitInfo ?? { signal: null, exitCode: null, lastStderrLine: '' }), operation));
    if (this.running)
      return Promise.reject(new ArchiveError('SDK_HOST_BUSY', `${operation} was sent to an SDK host that is already running ${this.running.operation}; this is a bug`));
    const id = this.nextId++;
    return new Promise<HostAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.killedFor = { cause: 'hang', afterMs: deadlineMs };
        this.child.kill('SIGKILL');
      }, deadlineMs);
      this.running = { id, operation, items: args.op === 'decrypt-many' ? args.items.length : undefined, resolve, reject, timer };
      this.send({ t: 'call', id, args });
    });
  }

  /**
   * Asks the host to DestroySdk and exit; waits for the call in progress first (a host is never
   * destroyed during a call). Kills it if it does not exit within `graceMs`.
   */
  async retire(graceMs = 5_000): Promise<HostExit> {
    if (this.exitInfo) return this.exitInfo;
    this.retiring = true;
    if (this.running) {
      // The running call's own deadline bounds this wait.
      await new Promise<void>((resolve) => {
        const r = this.running!;
        const { resolve: res, reject: rej } = r;
        r.resolve = (a) => {
          res(a);
          resolve();
        };
        r.reject = (e) => {
          rej(e);
          resolve();
        };
      });
    }
    if (!this.exitInfo) this.send({ t: 'destroy' });
    // ref'd: the parent waits (at most graceMs) for its host to destroy the SDK instance and exit
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the host at once (SIGKILL). */
  async kill(): Promise<HostExit> {
    this.retiring = true;
    if (!this.exitInfo) this.child.kill('SIGKILL');
    return this.exited;
  }

  private send(message: ToHost): void {
    if (!this.child.connected) return; // the exit handler reports the death
    this.child.send(message, (err) => {
      if (err && !this.exitInfo) this.child.kill('SIGKILL');
    });
  }

  private deathOf(exit: HostExit): HostDeath {
    if (this.killedFor?.cause === 'hang') return { cause: 'hang', afterMs: this.killedFor.afterMs, ...exit };
    if (this.killedFor?.cause === 'protocol') return { cause: 'protocol', problem: this.killedFor.problem, ...exit };
    return { cause: 'crash', ...exit };
  }

  private brokeProtocol(problem: string): void {
    if (this.killedFor) return;
    this.killedFor = { cause: 'protocol', problem };
    this.child.kill('SIGKILL');
  }

  private onMessage(raw: unknown): void {
    const msg = parseFromHost(raw);
    if (!msg) return this.brokeProtocol('not a host message');
    if (msg.t === 'ready' || msg.t === 'init-failed') {
      const waiter = this.startWaiter;
      this.startWaiter = undefined;
      if (!waiter) return this.brokeProtocol(`unexpected ${msg.t}`);
      if (msg.t === 'ready') this.rss = msg.rss;
      return waiter(msg);
    }
    const running = this.running;
    if (!running || running.id !== msg.id) return this.brokeProtocol('an answer to no call');
    if (msg.ok && msg.data.length > MEDIA_CHUNK_MAX && running.operation === OPERATION_NAMES.media) return this.brokeProtocol('a media chunk larger than 512 KB');
    if (msg.ok && msg.items?.length !== running.items)
      return this.brokeProtocol(running.items === undefined ? 'answers of several calls to one' : `${msg.items?.length ?? 'no'} answers to ${running.items} DecryptData calls`);
    clearTimeout(running.timer);
    this.running = undefined;
    this.rss = msg.rss;
    if (msg.ok) {
      running.resolve({
        data: Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength),
        outIndex: msg.outIndex,
        isFinish: msg.isFinish,
        rss: msg.rss,
        ...(msg.items ? { items: msg.items } : {}),
      });
    } else {
      running.reject(new SdkCallError(msg.code, running.operation, msg.detail));
    }
  }

  private onExit(exit: HostExit): void {
    const death = this.deathOf(exit);
    const running = this.running;
    this.running = undefined;
    if (running) {
      clearTimeout(running.timer);
      running.reject(new HostDiedError(death, running.operation));
    }
    // A death during a call is reported through that call's rejection; this is for the others.
    if (!running && !this.retiring) this.exitListener?.(death);
  }
}
