import type { App } from './app.ts';
import { createCallbackServices } from './callback-services.ts';
import type { Logger } from './logger.ts';

/**
 * `directory sync`: syncs each corp's directory now (callback IPs included), one corp after the
 * other, without the inbox workers or the directory's own loop; `onSynced` hears each corp's time.
 */
export async function syncDirectoriesNow(app: App, log: Logger, corpids: readonly string[], signal: AbortSignal, onSynced: (corpid: string, ms: number) => void): Promise<void> {
  const services = createCallbackServices(app, log, { handlePullNotifies: false, directory: false });
  try {
    for (const corpid of corpids) {
      const started = performance.now();
      await services.directory.syncNow(corpid, signal, { callbackIps: true });
      onSynced(corpid, Math.round(performance.now() - started));
    }
  } finally {
    services.close();
  }
}
