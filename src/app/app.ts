import { CallbackAppRegistry } from '../callbacks/callback-apps.ts';
import type { Config } from '../config/config.ts';
import { CorpRegistry } from '../corps/corp-registry.ts';
import { openStore, type Store } from '../store/open-store.ts';
import { KeyVault } from '../vault/key-vault.ts';
import { CorpApiSettings } from '../wecom-api/corp-api-settings.ts';
import { loadMasterKey } from '../vault/master-key.ts';

/** What commands and servers work with: the store and the services over it. */
export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly corps: CorpRegistry;
  readonly keys: KeyVault;
  /** callback configurations (Token, EncodingAESKey sealed) */
  readonly callbackApps: CallbackAppRegistry;
  /** contacts / customer-contact secrets (sealed) and the WeCom API base per corp */
  readonly apiSettings: CorpApiSettings;
  close(): Promise<void>;
}

/** Opens the database (migrating it) and loads the master key. */
export async function openApp(config: Config): Promise<App> {
  const { key } = loadMasterKey({ envValue: config.masterKey, dataDir: config.dataDir });
  return createApp(config, await openStore(config.dbUrl), key);
}

/** The services over an opened store (tests build one on a fresh database). */
export function createApp(config: Config, store: Store, masterKey: Buffer): App {
  const corps = new CorpRegistry(store.db, masterKey);
  return {
    config,
    store,
    corps,
    keys: new KeyVault(store.db, masterKey),
    callbackApps: new CallbackAppRegistry(store.db, masterKey),
    apiSettings: new CorpApiSettings(store.db, masterKey, corps),
    close: () => store.close(),
  };
}
