/**
 * Watches the configuration's revision (store/config-revision.ts): every poll interval one
 * single-row read, and when the revision moved, `apply` reads what it needs and applies it. A
 * failed apply (the database away, a secret that cannot be opened) is tried again at the next look,
 * so every running process, `run` or `serve`, follows the configuration within one poll interval.
 */
import type { App } from './app.ts';
import type { Logger } from './logger.ts';
import { readConfigRevision } from '../store/config-revision.ts';
import { sleep } from '../runtime/sleep.ts';

/** The revision now: read it before reading the configuration a watch starts from. */
export function configRevision(app: App): Promise<string> {
  return readConfigRevision(app.store.db);
}

/** Until `signal` aborts: every `intervalMs`, `apply()` once the revision differs from `since`. */
export async function watchConfig(app: App, log: Logger, signal: AbortSignal, options: { intervalMs: number; since: string; apply(): Promise<void> }): Promise<void> {
  let applied = options.since;
  while (!signal.aborted) {
    await sleep(options.intervalMs, signal);
    if (signal.aborted) break;
    try {
      const revision = await readConfigRevision(app.store.db);
      if (revision === applied) continue;
      log.debug({ revision }, 'configuration changed: applying it');
      await options.apply();
      applied = revision;
    } catch (err) {
      if (signal.aborted) break;
      log.warn({ err: (err as Error).message }, 'the changed configuration could not be applied; trying again at the next poll');
    }
  }
}

/**
 * Keeps the process's callback apps current: drops the opened copies the endpoint caches, and logs
 * one line per app added, changed or removed. Call it once at start (it remembers what it saw).
 */
export function callbackAppsReloader(app: App, log: Logger): () => Promise<void> {
  let seen: Map<string, number> | undefined;
  return async () => {
    app.callbackApps.forgetCached();
    const now = new Map<string, number>((await app.callbackApps.list()).map((a) => [`${a.corpid}/${a.app}`, a.updatedAt]));
    if (seen) {
      for (const [name, updatedAt] of now) {
        const before = seen.get(name);
        if (before === undefined) log.info({ app: name }, `callback app ${name} added`);
        else if (before !== updatedAt) log.info({ app: name }, `callback app ${name} changed`);
      }
      for (const name of seen.keys()) if (!now.has(name)) log.info({ app: name }, `callback app ${name} removed`);
    }
    seen = now;
  };
}
