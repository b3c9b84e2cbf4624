import { createLogger, type Logger } from '../app/logger.ts';
import type { CorpConfig } from '../corps/corp-registry.ts';
import type { SdkBackend } from './backend.ts';
import type { HostRestartEvent } from './native/host-pool.ts';
import { createNativeBackend } from './native/native-backend.ts';
import { createSimulatorBackend } from './simulator-backend.ts';

/** What the native backend reports to its owner (the simulator backend has nothing to report). */
export interface BackendHooks {
  /** restarts of SDK host processes, with signal or cause (for `status`: see sdk/native/host-restart-log.ts) */
  onHostRestart?(event: HostRestartEvent): void;
  log?: Logger;
}

/** The SDK backend a corp is configured for (`corp add --sdk`). */
export function createBackend(corp: CorpConfig, hooks: BackendHooks = {}): SdkBackend {
  if (corp.sdk.kind === 'simulator') return createSimulatorBackend({ url: corp.sdk.url, corpid: corp.corpid, secret: corp.secret });
  // The .so is loaded only in supervised child processes, never in this one: it is known to crash
  // and leak, and must not take the process that holds the database or serves users with it.
  return createNativeBackend({
    libPath: corp.sdk.path,
    corpid: corp.corpid,
    secret: corp.secret,
    ...(hooks.onHostRestart ? { onRestart: hooks.onHostRestart } : {}),
    // host restarts are always logged (warn), with the caller's logger when it gives one
    log: hooks.log ?? createLogger('warn'),
  });
}
