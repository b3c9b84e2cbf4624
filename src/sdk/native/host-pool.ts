/**
 * A corp's small pool of SDK host processes, and the supervision that makes the native SDK safe to
 * use: every call has a deadline; a host that crashes (SIGSEGV, abort), hangs past its deadline or
 * breaks protocol is replaced and the interrupted call is retried on the fresh host; a host whose
 * memory passes the ceiling is retired after its call. The caller sees each call complete exactly
 * once, or fail with a clear error, never a lost or doubled result.
 *
 * Hosts are grouped in lanes, so a long GetChatData or a media download never holds up DecryptData
 * (and the other way round). Each host runs one call at a time, because one SDK instance must never
 * be called by two callers at once; hosts start on the first call of their lane.
 */
import type { Logger } from '../../app/logger.ts';
import { ArchiveError } from '../../errors/errors.ts';
import { abortReason } from '../../runtime/abort.ts';
import type { RestartCause, SdkHostLane } from '../../store/vocabulary.ts';
import { type CallArgs, type HostOperation, OPERATION_NAMES } from './host-protocol.ts';
import { describeDeath, type HostAnswer, type HostDeath, HostDiedError, SdkHost } from './sdk-host.ts';

export type { RestartCause };
export type Lane = SdkHostLane;
export const LANES: readonly Lane[] = ['chat', 'decrypt', 'media'];
const LANE_OF: Readonly<Record<HostOperation, Lane>> = { chatdata: 'chat', decrypt: 'decrypt', 'decrypt-many': 'decrypt', media: 'media' };

/** One host replaced: what `status` counts and the log reports. */
export interface HostRestartEvent {
  corpid: string;
  lane: Lane;
  cause: RestartCause;
  /** e.g. 'SIGSEGV', 'SIGABRT', 'SIGKILL' (after a hang) */
  signal: string | null;
  exitCode: number | null;
  /** the SDK function that was running, or null when the host died idle */
  operation: string | null;
  rssBytes: number | null;
  /** one line for people: what happened */
  detail: string;
  at: number;
}

export interface HostPoolOptions {
  libPath: string;
  corpid: string;
  secret: string;
  /** the hosts' environment; the parent's by default */
  env?: NodeJS.ProcessEnv;
  /** hosts per lane; 1 each by default */
  hosts?: Partial<Record<Lane, number>>;
  /** a host whose resident memory passes this after a call is replaced; default 1 GiB */
  memoryCeilingBytes?: number;
  /** GetChatData / GetMediaData deadline = their timeout + this; default 5 s */
  callGraceMs?: number;
  /** DecryptData (local work, no timeout argument) deadline; default 5 s */
  decryptDeadlineMs?: number;
  /** tries of one call across host deaths; default 4 */
  maxAttempts?: number;
  /** time allowed for a host to start and Init; default 60 s */
  startTimeoutMs?: number;
  /** after the library fails to load or Init fails, calls fail at once for this long; default 5 s */
  startFailureCooldownMs?: number;
  /**
   * Once a host of the pool has died, keep one started and initialised spare host, so the next
   * restart takes over at once instead of waiting for a process to start (default true).
   */
  spareAfterRestart?: boolean;
  onRestart?(event: HostRestartEvent): void;
  log?: Logger;
  now?(): number;
}

export const DEFAULT_MEMORY_CEILING_BYTES = 1024 * 1024 * 1024;

interface Job {
  args: CallArgs;
  lane: LaneState;
  attempts: number;
  settled: boolean;
  resolve(answer: HostAnswer): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
}

/** The calls waiting on one caller's signal: one abort listener per signal, not per call. */
interface Watch {
  jobs: Set<Job>;
  onAbort(): void;
}

interface Slot {
  host: SdkHost | undefined;
  busy: boolean;
}

interface LaneState {
  readonly name: Lane;
  readonly slots: Slot[];
  readonly queue: Job[];
  startFailure: { error: unknown; until: number } | undefined;
}

export interface HostPoolStats {
  restarts: number;
  byCause: Record<RestartCause, number>;
  hosts: Array<{ lane: Lane; pid: number; rss: number }>;
}

export class HostPool {
  private readonly lanes: Record<Lane, LaneState>;
  private readonly running = new Set<Promise<void>>();
  /** hosts being retired (memory ceiling): close() waits for them too */
  private readonly retiring = new Set<Promise<unknown>>();
  private readonly counts: Record<RestartCause, number> = { crash: 0, hang: 0, memory: 0, protocol: 0 };
  private readonly now: () => number;
  private readonly watches = new Map<AbortSignal, Watch>();
  private spare: Promise<SdkHost> | undefined;
  private wantSpare = false;
  private closed = false;

  constructor(private readonly opts: HostPoolOptions) {
    this.now = opts.now ?? Date.now;
    const lane = (name: Lane): LaneState => {
      const n = opts.hosts?.[name] ?? 1;
      if (!Number.isInteger(n) || n < 1 || n > 16) throw new ArchiveError('SDK_POOL_INVALID', `hosts per lane must be 1–16, got ${n} for ${name}`);
      return { name, slots: Array.from({ length: n }, () => ({ host: undefined, busy: false })), queue: [], startFailure: undefined };
    };
    this.lanes = { chat: lane('chat'), decrypt: lane('decrypt'), media: lane('media') };
  }

  /** Runs one SDK call on a host of its lane (queued while they are busy). */
  call(args: CallArgs, signal?: AbortSignal): Promise<HostAnswer> {
    if (this.closed) return Promise.reject(this.closedError(args));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const lane = this.lanes[LANE_OF[args.op]];
    return new Promise<HostAnswer>((resolve, reject) => {
      const job: Job = { args, lane, attempts: 0, settled: false, resolve, reject, signal };
      if (signal) this.watch(signal, job);
      lane.queue.push(job);
      this.pump(lane);
    });
  }

  /**
   * A running native call cannot be interrupted: on abort the caller is released at once, a queued
   * call is dropped, and a running one finishes (or meets its deadline) with its answer discarded.
   */
  private watch(signal: AbortSignal, job: Job): void {
    let watch = this.watches.get(signal);
    if (!watch) {
      const jobs = new Set<Job>();
      const onAbort = () => {
        this.watches.delete(signal);
        for (const j of jobs) {
          const at = j.lane.queue.indexOf(j);
          if (at >= 0) j.lane.queue.splice(at, 1);
          this.fail(j, abortReason(signal));
        }
      };
      watch = { jobs, onAbort };
      this.watches.set(signal, watch);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    watch.jobs.add(job);
  }

  private unwatch(job: Job): void {
    const watch = job.signal && this.watches.get(job.signal);
    if (!watch) return;
    watch.jobs.delete(job);
    if (watch.jobs.size === 0) {
      this.watches.delete(job.signal!);
      job.signal!.removeEventListener('abort', watch.onAbort);
    }
  }

  stats(): HostPoolStats {
    const hosts: HostPoolStats['hosts'] = [];
    for (const lane of LANES) for (const slot of this.lanes[lane].slots) if (slot.host?.alive) hosts.push({ lane, pid: slot.host.pid, rss: slot.host.rss });
    return { restarts: Object.values(this.counts).reduce((a, b) => a + b, 0), byCause: { ...this.counts }, hosts };
  }

  /** Fails queued calls, lets running ones finish (each within its deadline), then destroys every host once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lane of LANES) for (const job of this.lanes[lane].queue.splice(0)) this.fail(job, this.closedError(job.args));
    await Promise.all([...this.running]);
    const spare = this.spare;
    this.spare = undefined;
    await Promise.all([
      ...LANES.flatMap((lane) =>
        this.lanes[lane].slots.map(async (slot) => {
          const host = slot.host;
          slot.host = undefined;
          await host?.retire();
        }),
      ),
      spare?.then(
        (host) => host.retire(),
        () => undefined,
      ),
      ...this.retiring,
    ]);
  }

  private closedError(args: CallArgs): ArchiveError {
    return new ArchiveError('SDK_CLOSED', `${OPERATION_NAMES[args.op]} was not run: the native SDK backend of corp ${this.opts.corpid} is closed`);
  }

  private pump(lane: LaneState): void {
    for (const slot of lane.slots) {
      if (slot.busy) continue;
      let job = lane.queue.shift();
      while (job?.settled) job = lane.queue.shift();
      if (!job) return;
      slot.busy = true;
      const run = this.run(lane, slot, job).finally(() => {
        slot.busy = false;
        this.running.delete(run);
        this.pump(lane);
      });
      this.running.add(run);
    }
  }

  private async run(lane: LaneState, slot: Slot, job: Job): Promise<void> {
    const operation = OPERATION_NAMES[job.args.op];
    let host: SdkHost;
    try {
      host = await this.hostFor(lane, slot);
    } catch (err) {
      let error = err;
      if (err instanceof HostDiedError) {
        this.restarted(lane, err.death, 'Init', null);
        error = new ArchiveError(
          'SDK_HOST_FAILED',
          `the SDK host process ${describeDeath(err.death)} while starting (loading the library and Init); calls are refused for a few seconds, then tried again. Run \`wecom-archive doctor --corp ${this.opts.corpid}\``,
          { cause: err },
        );
      }
      // The library does not load, Init refuses or crashes: every call of this lane would fail the
      // same way, so they fail now and starting is tried again after a pause (no restart storm).
      lane.startFailure = { error, until: this.now() + (this.opts.startFailureCooldownMs ?? 5_000) };
      this.fail(job, error);
      for (const other of lane.queue.splice(0)) this.fail(other, error);
      return;
    }
    if (job.settled) return;
    try {
      const answer = await host.call(job.args, this.deadlineOf(job.args));
      this.succeed(job, answer);
      const ceiling = this.opts.memoryCeilingBytes ?? DEFAULT_MEMORY_CEILING_BYTES;
      if (answer.rss > ceiling && slot.host === host) {
        slot.host = undefined;
        const mb = (n: number) => `${Math.round(n / 1048576)} MB`;
        this.report({
          corpid: this.opts.corpid,
          lane: lane.name,
          cause: 'memory',
          signal: null,
          exitCode: null,
          operation,
          rssBytes: answer.rss,
          at: this.now(),
          detail: `resident memory ${mb(answer.rss)} passed the ceiling of ${mb(ceiling)} after ${operation}; the host was replaced`,
        });
        const retired = host.retire().finally(() => this.retiring.delete(retired));
        this.retiring.add(retired);
      }
    } catch (err) {
      if (err instanceof HostDiedError) {
        if (slot.host === host) slot.host = undefined;
        this.restarted(lane, err.death, operation, host.rss);
        return this.retryOrFail(lane, job, err);
      }
      // The SDK answered with its own code: that is the call's result, for the caller to judge.
      this.fail(job, err);
    }
  }

  private startHost(): Promise<SdkHost> {
    return SdkHost.start({
      libPath: this.opts.libPath,
      corpid: this.opts.corpid,
      secret: this.opts.secret,
      ...(this.opts.env ? { env: this.opts.env } : {}),
      ...(this.opts.startTimeoutMs ? { startTimeoutMs: this.opts.startTimeoutMs } : {}),
    });
  }

  /** Starts the spare host if one is wanted and none is there. */
  private warmSpare(): void {
    if (!this.wantSpare || this.spare || this.closed) return;
    const spare = this.startHost();
    this.spare = spare;
    spare.then(
      (host) => {
        // A spare that dies before it is used is simply dropped (no call was running on it).
        host.onDeath(() => {
          if (this.spare === spare) this.spare = undefined;
        });
      },
      () => {
        if (this.spare === spare) this.spare = undefined;
      },
    );
  }

  /** The spare, if one is ready or starting and turns out usable. */
  private async takeSpare(): Promise<SdkHost | undefined> {
    const spare = this.spare;
    this.spare = undefined;
    if (!spare) return undefined;
    const host = await spare.catch(() => undefined);
    return host?.alive ? host : undefined;
  }

  private async hostFor(lane: LaneState, slot: Slot): Promise<SdkHost> {
    if (slot.host?.alive) return slot.host;
    slot.host = undefined;
    const failure = lane.startFailure;
    if (failure && this.now() < failure.until) throw failure.error;
    lane.startFailure = undefined;
    const host = (await this.takeSpare()) ?? (await this.startHost());
    this.warmSpare();
    host.onDeath((death) => {
      if (slot.host === host) slot.host = undefined;
      this.restarted(lane, death, null, host.rss);
    });
    if (this.closed) {
      await host.retire();
      throw new ArchiveError('SDK_CLOSED', `the native SDK backend of corp ${this.opts.corpid} was closed`);
    }
    slot.host = host;
    return host;
  }

  private deadlineOf(args: CallArgs): number {
    // DecryptData is local work of microseconds: a whole `decrypt-many` exchange gets one deadline
    if (args.op === 'decrypt' || args.op === 'decrypt-many') return this.opts.decryptDeadlineMs ?? 5_000;
    return args.timeoutS * 1000 + (this.opts.callGraceMs ?? 5_000);
  }

  /** The call did not complete because its host died: run it again on a fresh host, a few times. */
  private retryOrFail(lane: LaneState, job: Job, err: HostDiedError): void {
    job.attempts += 1;
    if (job.settled) return;
    if (this.closed) return this.fail(job, this.closedError(job.args));
    // Several messages at once are not tried again: one of them may be what kills the SDK, so the
    // caller falls back to one call each, and only that one pays for its deaths
    const maxAttempts = job.args.op === 'decrypt-many' ? 1 : (this.opts.maxAttempts ?? 4);
    if (job.attempts >= maxAttempts) {
      const operation = OPERATION_NAMES[job.args.op];
      const message =
        job.args.op === 'decrypt-many'
          ? `${operation} of ${job.args.items.length} messages at once did not complete: the SDK host process ${describeDeath(err.death)}. Each message is tried on its own instead`
          : `${operation} did not complete in ${job.attempts} tries: each time the SDK host process ${describeDeath(err.death)}. The call will be retried later; if this persists, run \`wecom-archive doctor --corp ${this.opts.corpid}\``;
      return this.fail(job, new ArchiveError('SDK_HOST_FAILED', message, { cause: err }));
    }
    lane.queue.unshift(job);
  }

  private restarted(lane: LaneState, death: HostDeath, operation: string | null, rss: number | null): void {
    this.report({
      corpid: this.opts.corpid,
      lane: lane.name,
      cause: death.cause,
      signal: death.signal,
      exitCode: death.exitCode,
      operation,
      rssBytes: rss,
      at: this.now(),
      detail: `the SDK host process ${describeDeath(death)}${operation ? ` during ${operation}` : ' while idle'}`,
    });
  }

  private report(event: HostRestartEvent): void {
    this.counts[event.cause] += 1;
    // This SDK dies: from now on keep a started host ready to take over.
    if (this.opts.spareAfterRestart !== false && !this.wantSpare) {
      this.wantSpare = true;
      this.warmSpare();
    }
    this.opts.log?.warn(
      { corp: event.corpid, stage: 'sdk', lane: event.lane, cause: event.cause, signal: event.signal, exitCode: event.exitCode, operation: event.operation, rss: event.rssBytes },
      `SDK host restarted: ${event.detail}`,
    );
    try {
      this.opts.onRestart?.(event);
    } catch {
      // a failing listener must not break supervision
    }
  }

  private succeed(job: Job, answer: HostAnswer): void {
    if (job.settled) return;
    job.settled = true;
    this.unwatch(job);
    job.resolve(answer);
  }

  private fail(job: Job, err: unknown): void {
    if (job.settled) return;
    job.settled = true;
    this.unwatch(job);
    job.reject(err);
  }
}
