import type { Kysely } from 'kysely';
import { accessServices, type AccessServices } from '../access/access-services.ts';
import { LoginApps } from '../access/wecom-login-apps.ts';
import { CallbackAppRegistry } from '../callbacks/callback-apps.ts';
import type { Config } from '../config/config.ts';
import { CorpRegistry } from '../corps/corp-registry.ts';
import { openStore, type Store } from '../store/open-store.ts';
import type { Database } from '../store/schema.ts';
import { KeyVault } from '../vault/key-vault.ts';
import { SinkRegistry } from '../outbox/sink-registry.ts';
import { CorpApiSettings } from '../wecom-api/corp-api-settings.ts';
import { openMasterKey } from '../vault/master-key-check.ts';

/** The services that keep a corp's settings and secrets. */
export interface SettingsServices {
  readonly corps: CorpRegistry;
  readonly keys: KeyVault;
  /** callback configurations (Token, EncodingAESKey sealed) */
  readonly callbackApps: CallbackAppRegistry;
  /** contacts / customer-contact secrets (sealed) and the WeCom API base per corp */
  readonly apiSettings: CorpApiSettings;
  /** where each corp's events go (webhook secrets sealed) */
  readonly sinks: SinkRegistry;
  /** the app that signs members in with WeCom, per corp (its Secret sealed) */
  readonly loginApps: LoginApps;
}

/** What commands and servers work with: the store and the services over it. */
export interface App extends SettingsServices {
  readonly config: Config;
  readonly store: Store;
  /** accounts, sessions, tokens and the audit log */
  readonly access: AccessServices;
  /** Runs `fn` with the settings services over one database transaction: all of its writes, or none. */
  transaction<T>(fn: (services: SettingsServices) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Opens the database (migrating it), then loads the master key and checks it against the database's
 * check value: a key that did not seal its secrets is refused, and none is created while they exist.
 */
export async function openApp(config: Config): Promise<App> {
  const store = await openStore(config.dbUrl);
  try {
    const { key } = await openMasterKey(store.db, store.dialect, { envValue: config.masterKey, dataDir: config.dataDir });
    return createApp(config, store, key);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** The services over an opened store (tests build one on a fresh database). */
export function createApp(config: Config, store: Store, masterKey: Buffer): App {
  return {
    config,
    store,
    access: accessServices(store.db),
    ...settingsServices(store.db, masterKey),
    transaction: (fn) => store.db.transaction().execute((trx) => fn(settingsServices(trx, masterKey))),
    close: () => store.close(),
  };
}

function settingsServices(db: Kysely<Database>, masterKey: Buffer): SettingsServices {
  const corps = new CorpRegistry(db, masterKey);
  return {
    corps,
    keys: new KeyVault(db, masterKey),
    callbackApps: new CallbackAppRegistry(db, masterKey),
    apiSettings: new CorpApiSettings(db, masterKey, corps),
    sinks: new SinkRegistry(db, masterKey),
    loginApps: new LoginApps(db, masterKey),
  };
}
