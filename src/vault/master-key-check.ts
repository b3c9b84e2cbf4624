/**
 * Binds a database to its master key. The database keeps a check value of the key (an HMAC of a
 * constant under it: it proves which key is meant without revealing it), so a process started with
 * another key, from the environment or a new key file, is refused before it seals anything: secrets
 * sealed under two keys, half of them unreadable, would be the result.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { loginSecretAad } from '../access/wecom-login-apps.ts';
import { tokenAad } from '../callbacks/callback-apps.ts';
import { secretAad } from '../corps/corp-registry.ts';
import { ConfigError } from '../errors/errors.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database } from '../store/schema.ts';
import { contactsAad, customerAad } from '../wecom-api/corp-api-settings.ts';
import { keyAad } from './key-vault.ts';
import { loadMasterKey, type MasterKey } from './master-key.ts';
import { openSecret } from './secret-box.ts';

const CHECK_NAME = 'master_key';
const CHECK_CONSTANT = 'wecom-archive master key check v1';

/** The check value stored for a master key: hex HMAC-SHA256 of a constant. */
export function masterKeyCheckValue(key: Buffer): string {
  return createHmac('sha256', key).update(CHECK_CONSTANT).digest('hex');
}

/**
 * The master key for this database: loaded as loadMasterKey does, but no new key file is created
 * while the database holds a check value or sealed secrets, and a key that does not match them is
 * refused with what to do. A database without a check value gets one here, from a key that opens
 * its secrets (or from the first key, when it holds none).
 */
export async function openMasterKey(db: Kysely<Database>, dialect: StoreDialect, opts: { envValue: string | undefined; dataDir: string }): Promise<MasterKey> {
  const stored = await storedCheck(db);
  const sealed = stored === undefined ? await sealedSample(db) : [];
  const loaded = loadMasterKey({ ...opts, mayCreate: stored === undefined && sealed.length === 0 });
  if (stored !== undefined) {
    if (!sameCheck(stored, masterKeyCheckValue(loaded.key))) throw mismatch(loaded, dialect);
    return loaded;
  }
  // Any one secret that opens proves the key (AES-GCM authenticates); none opening proves it wrong.
  if (sealed.length > 0 && !sealed.some((s) => opens(loaded.key, s))) throw mismatch(loaded, dialect);
  await dialect
    .ignoreDuplicates(db.insertInto('vault_checks').values({ name: CHECK_NAME, check_value: masterKeyCheckValue(loaded.key), created_at: Date.now() }), ['name'])
    .execute();
  // Two first starts with different keys: the one whose value was stored first wins, the other is refused.
  const now = await storedCheck(db);
  if (now === undefined || !sameCheck(now, masterKeyCheckValue(loaded.key))) throw mismatch(loaded, dialect);
  return loaded;
}

async function storedCheck(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('vault_checks').select('check_value').where('name', '=', CHECK_NAME).executeTakeFirst();
  return row?.check_value;
}

function sameCheck(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

interface SealedSample {
  sealed: string;
  aad: string;
}

/** One sealed value of each kind the archive stores, with the name it was sealed under. */
async function sealedSample(db: Kysely<Database>): Promise<SealedSample[]> {
  const samples: SealedSample[] = [];
  const corp = await db.selectFrom('corps').select(['corpid', 'secret_sealed']).limit(1).executeTakeFirst();
  if (corp) samples.push({ sealed: corp.secret_sealed, aad: secretAad(corp.corpid) });
  const key = await db.selectFrom('key_versions').select(['corpid', 'version', 'private_key_sealed']).limit(1).executeTakeFirst();
  if (key) samples.push({ sealed: key.private_key_sealed, aad: keyAad(key.corpid, key.version) });
  const api = await db
    .selectFrom('corp_api_settings')
    .select(['corpid', 'contacts_secret_sealed', 'customer_secret_sealed'])
    .where((eb) => eb.or([eb('contacts_secret_sealed', 'is not', null), eb('customer_secret_sealed', 'is not', null)]))
    .limit(1)
    .executeTakeFirst();
  if (api?.contacts_secret_sealed) samples.push({ sealed: api.contacts_secret_sealed, aad: contactsAad(api.corpid) });
  else if (api?.customer_secret_sealed) samples.push({ sealed: api.customer_secret_sealed, aad: customerAad(api.corpid) });
  const callback = await db.selectFrom('callback_apps').select(['corpid', 'app', 'token_sealed']).limit(1).executeTakeFirst();
  if (callback) samples.push({ sealed: callback.token_sealed, aad: tokenAad(callback.corpid, callback.app) });
  const login = await db.selectFrom('wecom_login_apps').select(['corpid', 'secret_sealed']).limit(1).executeTakeFirst();
  if (login) samples.push({ sealed: login.secret_sealed, aad: loginSecretAad(login.corpid) });
  return samples;
}

function opens(key: Buffer, sample: SealedSample): boolean {
  try {
    openSecret(key, sample.sealed, sample.aad);
    return true;
  } catch {
    return false;
  }
}

function mismatch(loaded: MasterKey, dialect: StoreDialect): ConfigError {
  const source = loaded.source === 'env' ? 'WECOM_ARCHIVE_MASTER_KEY' : `the master key file ${loaded.path}`;
  const fix =
    loaded.source === 'env'
      ? 'Set WECOM_ARCHIVE_MASTER_KEY to the key the secrets were sealed with, or unset it to use the key file of the data directory.'
      : 'Restore the original master.key from backup (mode 0600), or set WECOM_ARCHIVE_MASTER_KEY to the original key.';
  return new ConfigError(`${source} is not the master key the secrets in ${dialect.displayUrl} were sealed with; nothing was changed. ${fix}`);
}
