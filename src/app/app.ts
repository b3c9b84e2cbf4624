import type { Config } from '../config/config.ts';
import { CorpRegistry } from '../corps/corp-registry.ts';
import { openStore, type Store } from '../store/open-store.ts';
import { KeyVault } from '../vault/key-vault.ts';
import { loadMasterKey } from '../vault/master-key.ts';

/** What commands and servers work with: the store and the services over it. */
export interface App {
  readonly config: Config;
  readonly store: Store;
  readonly corps: CorpRegistry;
  readonly keys: KeyVault;
  close(): Promise<void>;
}

/** Opens the database (migrating it) and loads the master key. */
export async function openApp(config: Config): Promise<App> {
  const { key } = loadMasterKey({ envValue: config.masterKey, dataDir: config.dataDir });
  const store = await openStore(config.dbUrl);
  return {
    config,
    store,
    corps: new CorpRegistry(store.db, key),
    keys: new KeyVault(store.db, key),
    close: () => store.close(),
  };
}
