import type { CorpConfig } from '../corps/corp-registry.ts';
import { ArchiveError } from '../errors/errors.ts';
import type { SdkBackend } from './backend.ts';
import { createSimulatorBackend } from './simulator-backend.ts';

/** The SDK backend a corp is configured for (`corp add --sdk`). */
export function createBackend(corp: CorpConfig): SdkBackend {
  if (corp.sdk.kind === 'simulator') return createSimulatorBackend({ url: corp.sdk.url, corpid: corp.corpid, secret: corp.secret });
  throw new ArchiveError('SDK_NATIVE_UNAVAILABLE', `corp ${corp.corpid} is configured for the native SDK (${corp.sdk.path}), which this version cannot load yet; use --sdk simulator:URL`, { exitCode: 2 });
}
