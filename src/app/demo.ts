/**
 * `demo`: a simulated WeCom corp archived by this process, in one call. The simulator is registered
 * as a corp (keys, directory secrets, callback apps), the archive runs its pulls, callbacks and
 * directory stage, and the simulator sends msgaudit_notify and contact changes to the callback URL.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Actor } from '../access/account-admin.ts';
import { httpUrl } from '../api/http-url.ts';
import type { CorpProgress } from '../archiver/corp-archiver.ts';
import { registerCorps, simulatorCorp } from '../corps/corp-registration.ts';
import { type DirectorySample, directorySample } from '../directory/directory-sample.ts';
import { ArchiveError } from '../errors/errors.ts';
import { sleep } from '../runtime/sleep.ts';
import { type RunningSimulator, startSimulator } from '../simulator/server.ts';
import type { App } from './app.ts';
import { type ArchiveProcess, type ProcessPlan, startArchiveProcess } from './archive-process.ts';
import type { Logger } from './logger.ts';

export interface DemoOptions {
  readonly messages: number;
  /** new messages per second */
  readonly rate: number;
  readonly seed: string;
  readonly listen: { readonly host: string; readonly port: number };
  /** who creates the demo's admin account, for its audit row */
  readonly actor: Actor;
  readonly onProgress?: (progress: readonly CorpProgress[]) => void;
}

export interface RunningDemo {
  readonly corpid: string;
  readonly simulatorUrl: string;
  /** the port the archive's HTTP server listens on */
  readonly serverPort: number;
  /** where the simulator sends callbacks (loopback when the server listens on a wildcard address) */
  readonly callbackBase: string;
  /** the web UI's address, as a browser on this machine opens it */
  readonly uiUrl: string;
  /** the account to sign in to the UI with */
  readonly login: DemoLogin;
  /** Archives until `signal` aborts; `onDirectory` hears once when the directory has names. */
  run(signal: AbortSignal, onDirectory: (sample: DirectorySample) => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * The demo's admin account: made with a random password on the first demo, whose password is then
 * shown once; a later demo on the same data keeps the account as it is and shows no password.
 */
export interface DemoLogin {
  readonly username: string;
  /** set only when this demo created the account */
  readonly password?: string;
}

export const DEMO_ADMIN = 'admin';

/** how often, and how many times, the demo looks for a synced directory */
const DIRECTORY_CHECK_MS = 1_000;
const DIRECTORY_CHECKS = 120;

/** Starts the simulator, registers its corp and starts the archive's stages and HTTP server. */
export async function startDemo(app: App, log: Logger, options: DemoOptions): Promise<RunningDemo> {
  const keyFile = join(app.config.dataDir, 'demo', 'simulator-key-v1.pem');
  const keys = readDemoKey(keyFile);
  const sim = await startSimulator({ messages: options.messages, rate: options.rate, seed: options.seed, ...(keys ? { keys } : {}) });
  try {
    if (!keys) saveDemoKey(keyFile, sim);
    await registerCorps(app, [simulatorCorp(sim)], { replace: true });
    const login = await demoAdmin(app, options.actor);
    const running = await startArchiveProcess(app, log, {
      listen: options.listen,
      callbacks: { handlePullNotifies: true, directoryTiming: { scanIntervalMs: 5_000 } },
      // a long poll interval: new messages are pulled when msgaudit_notify says so
      archive: { once: false, timing: { pollIntervalMs: 30_000 }, ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
    });
    const handle = demoHandle(app, sim, running, options.listen.host, login);
    // the server is closed here, the simulator by the catch below
    await offerWecomSignIn(app, sim, handle.uiUrl).catch(async (err: unknown) => {
      await running.close();
      throw err;
    });
    return handle;
  } catch (err) {
    await sim.close();
    throw err;
  }
}

/**
 * Sign in with WeCom through the simulator's app, so the login page offers it; the simulator's
 * authorize pages act as if its first member were signed in to WeCom. No account is bound to that
 * member, so the sign-in ends on the login page until one is (`users add … --wecom-userid`).
 */
async function offerWecomSignIn(app: App, sim: RunningSimulator, uiUrl: string): Promise<void> {
  await app.loginApps.set({ corpid: sim.corp.corpid, agentid: sim.api.oauth.agentid, secret: sim.api.secrets.login, publicUrl: uiUrl, name: '演示企业 (simulator)' });
  sim.api.oauth.signedIn = [...sim.api.data.members.keys()][0] ?? null;
}

/** Creates the admin account with a random password, unless an account of that name exists (from an earlier demo, or made by hand). */
async function demoAdmin(app: App, actor: Actor): Promise<DemoLogin> {
  if ((await app.access.admin.listUsers()).some((u) => u.username === DEMO_ADMIN)) return { username: DEMO_ADMIN };
  // 16 characters of base64url: 96 random bits
  const password = randomBytes(12).toString('base64url');
  try {
    await app.access.admin.addUser(actor, { username: DEMO_ADMIN, role: 'admin', password, grants: [] });
  } catch (err) {
    // another demo on the same database made it in between: theirs stands
    if (err instanceof ArchiveError && err.code === 'USER_EXISTS') return { username: DEMO_ADMIN };
    throw err;
  }
  return { username: DEMO_ADMIN, password };
}

function demoHandle(app: App, sim: RunningSimulator, running: ArchiveProcess<Pick<Required<ProcessPlan>, 'listen'>>, host: string, login: DemoLogin): RunningDemo {
  const serverPort = running.server.port;
  // a wildcard address is no address to open: this machine's loopback reaches it
  const local = httpUrl(host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host, serverPort);
  const callbackBase = `${local}/callback`;
  // The simulator announces new data with msgaudit_notify, as WeCom does (at most every 5 s here).
  sim.api.callbackTarget = callbackBase;
  const stopNotifier = sim.api.startNotifier(5_000);
  const corpid = sim.corp.corpid;
  return {
    corpid,
    simulatorUrl: sim.url,
    serverPort,
    callbackBase,
    uiUrl: `${local}/`,
    login,
    async run(signal, onDirectory) {
      const shown = announceDirectory(app, corpid, signal, onDirectory);
      try {
        await running.run(signal);
      } finally {
        stopNotifier();
        await shown;
      }
    },
    async close() {
      stopNotifier();
      try {
        await running.close();
      } finally {
        await sim.close();
      }
    },
  };
}

/** Calls `onDirectory` once the corp's directory has names, looking every second for two minutes. */
async function announceDirectory(app: App, corpid: string, signal: AbortSignal, onDirectory: (sample: DirectorySample) => void): Promise<void> {
  for (let i = 0; i < DIRECTORY_CHECKS && !signal.aborted; i++) {
    await sleep(DIRECTORY_CHECK_MS, signal);
    const sample = await directorySample(app.store.db, corpid);
    if (sample) {
      onDirectory(sample);
      return;
    }
  }
}

/** The simulator's key is kept in the data dir so a second demo reuses the archive it made. */
function readDemoKey(file: string): Map<number, string> | undefined {
  return existsSync(file) ? new Map([[1, readFileSync(file, 'utf8')]]) : undefined;
}

function saveDemoKey(file: string, sim: RunningSimulator): void {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, sim.privateKeyPems.get(1)!, { mode: 0o600 });
}
