/**
 * The corps a `run` process archives, kept equal to the configuration while it runs. When the
 * configuration's revision moved (config-watch.ts), `reconcile` reads the corps and their key
 * versions and applies the difference: an archiver for a
 * corp added, a graceful stop for one removed (its pull lease given up, so another process may take
 * the corp at once), a stop and a new start for one whose secret, proxy, limit, timeout or SDK
 * changed, and "look at the waiting envelopes now" for one whose keys changed. A restart loses
 * nothing: what the old archiver committed stays, and the new one goes on from the cursor.
 * One line is logged per change applied, naming what changed and never its value.
 */
import { setMaxListeners } from 'node:events';
import type { App } from './app.ts';
import type { Logger } from './logger.ts';
import type { CorpArchiver, CorpProgress } from '../archiver/corp-archiver.ts';
import type { CorpConfig } from '../corps/corp-registry.ts';
import { formatSdkSpec } from '../corps/corp-settings.ts';
import type { SdkBackend } from '../sdk/backend.ts';

/** An archiver for a corp and the SDK backends it alone uses (closed when it stops). */
export interface BuiltArchiver {
  readonly archiver: CorpArchiver;
  readonly backends: readonly SdkBackend[];
}

interface RunningCorp {
  readonly corp: CorpConfig;
  readonly archiver: CorpArchiver;
  readonly backends: readonly SdkBackend[];
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

/** The settings whose change restarts a corp's archiver, by the name the log gives them. */
const RESTART_SETTINGS: ReadonlyArray<readonly [string, (c: CorpConfig) => unknown]> = [
  ['secret', (c) => c.secret],
  ['sdk', (c) => formatSdkSpec(c.sdk)],
  ['proxy', (c) => c.proxy],
  ['proxy auth', (c) => c.proxyAuth],
  ['limit', (c) => c.limit],
  ['timeout', (c) => c.timeoutS],
];

/** Names of the settings that differ between `a` and `b` (never their values: some are secrets). */
export function changedSettings(a: CorpConfig, b: CorpConfig): string[] {
  return RESTART_SETTINGS.filter(([, read]) => read(a) !== read(b)).map(([name]) => name);
}

export class CorpFleet {
  /** the running archivers by corp, one live map (the pull waker holds it and sees starts and stops) */
  readonly archivers = new Map<string, CorpArchiver>();
  private readonly running = new Map<string, RunningCorp>();
  /** corps that could not be started (unreadable secret, bad SDK setting): tried again at the next revision */
  private readonly failed = new Map<string, CorpProgress>();
  /** per corp, its key versions with the time each was stored, as last seen */
  private keyStamps = new Map<string, string>();

  constructor(
    private readonly app: App,
    private readonly log: Logger,
    private readonly signal: AbortSignal,
    private readonly options: {
      readonly once: boolean;
      build(corp: CorpConfig): BuiltArchiver;
    },
  ) {}

  /**
   * Starts an archiver for every configured corp; returns how many are configured. Read the
   * configuration's revision before (config-watch.ts): a change made meanwhile is then seen.
   */
  async startAll(): Promise<number> {
    const corpids = await this.app.corps.ids();
    for (const corpid of corpids) await this.start(corpid);
    this.keyStamps = await this.readKeyStamps();
    return corpids.length;
  }

  /** What each corp has done (running ones, and those that could not start). */
  progress(): CorpProgress[] {
    return [...[...this.running.values()].map((r) => r.archiver.progress), ...this.failed.values()];
  }

  /** Settles when every archiver running now has stopped (with `once`: caught up). */
  async settled(): Promise<void> {
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  /** Stops every archiver (after the run's signal aborted) and closes their backends. */
  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((corpid) => this.stop(corpid)));
  }

  /** Makes the running set equal to the configuration. */
  async reconcile(): Promise<void> {
    const wanted = new Set(await this.app.corps.ids());
    for (const corpid of [...this.running.keys()]) {
      if (wanted.has(corpid)) continue;
      await this.stop(corpid);
      this.log.info({ corp: corpid }, `corp ${corpid} removed: its archiver stopped`);
    }
    for (const corpid of [...this.failed.keys()]) if (!wanted.has(corpid)) this.failed.delete(corpid);
    // started in this round: they load their keys as they start
    const fresh = new Set<string>();
    for (const corpid of wanted) {
      if (this.signal.aborted) return;
      const current = this.running.get(corpid);
      if (!current) {
        const retried = this.failed.has(corpid);
        if (await this.start(corpid)) this.log.info({ corp: corpid }, retried ? `corp ${corpid} started` : `corp ${corpid} added`);
        fresh.add(corpid);
        continue;
      }
      const corp = await this.app.corps.get(corpid);
      const changed = changedSettings(current.corp, corp);
      if (changed.length === 0) continue;
      await this.stop(corpid);
      if (await this.start(corpid, corp)) this.log.info({ corp: corpid, changed }, `corp ${corpid} changed: ${changed.join(', ')}`);
      fresh.add(corpid);
    }
    const stamps = await this.readKeyStamps();
    for (const [corpid, r] of this.running) {
      if (fresh.has(corpid)) continue;
      const stamp = stamps.get(corpid) ?? '';
      if (stamp === (this.keyStamps.get(corpid) ?? '')) continue;
      r.archiver.keysChanged();
      this.log.info({ corp: corpid }, `corp ${corpid} keys changed: versions ${stamp === '' ? 'none' : stamp.replace(/@\d+/g, '')}`);
    }
    this.keyStamps = stamps;
  }

  /** Starts the corp's archiver (with `corp`, these settings); false when it could not start. */
  private async start(corpid: string, given?: CorpConfig): Promise<boolean> {
    if (this.signal.aborted) return false;
    let corp: CorpConfig;
    let built: BuiltArchiver;
    try {
      // the database going away as the run starts is no reason to leave a corp out of it
      corp = given ?? (await this.app.store.health.retryWhileUnavailable(() => this.app.corps.get(corpid), this.signal));
      built = this.options.build(corp);
    } catch (err) {
      // One corp that cannot start (bad SDK setting, unreadable secret) does not stop the others.
      this.log.error({ corp: corpid, err: (err as Error).message }, 'corp cannot be archived');
      this.failed.set(corpid, { corpid, cursor: 0n, envelopes: 0, messages: 0, failures: 0, state: 'stopped', lastError: (err as Error).message, notStarted: true });
      return false;
    }
    this.failed.delete(corpid);
    // the corp's own stop, and the run's: many waits hang off it, so it allows many listeners
    const stop = new AbortController();
    setMaxListeners(1_000, stop.signal);
    const onRunAbort = () => stop.abort(this.signal.reason);
    this.signal.addEventListener('abort', onRunAbort, { once: true });
    const done = built.archiver
      .run(stop.signal, { once: this.options.once })
      .then(() => undefined)
      .finally(() => this.signal.removeEventListener('abort', onRunAbort));
    this.running.set(corpid, { corp, archiver: built.archiver, backends: built.backends, stop, done });
    this.archivers.set(corpid, built.archiver);
    return true;
  }

  /** Stops the corp's archiver and waits for it: its loops end, its pull lease is given up. */
  private async stop(corpid: string): Promise<void> {
    const r = this.running.get(corpid);
    if (!r) return;
    this.running.delete(corpid);
    this.archivers.delete(corpid);
    r.stop.abort();
    try {
      await r.done;
    } finally {
      await Promise.all(r.backends.map((b) => b.close().catch(() => undefined)));
    }
  }

  /** Each corp's key versions with the time each was stored: adding or replacing a key changes it. */
  private async readKeyStamps(): Promise<Map<string, string>> {
    const rows = await this.app.store.db.selectFrom('key_versions').select(['corpid', 'version', 'created_at']).orderBy('corpid').orderBy('version').execute();
    const stamps = new Map<string, string>();
    for (const r of rows) {
      const prior = stamps.get(r.corpid);
      const part = `${r.version}@${String(r.created_at)}`;
      stamps.set(r.corpid, prior === undefined ? part : `${prior},${part}`);
    }
    return stamps;
  }
}
