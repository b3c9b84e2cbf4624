/**
 * Per-corp settings of the WeCom HTTP API: the contacts (通讯录同步) and customer contact (客户联系)
 * secrets, sealed like the archive secret (aad per place), and the API base URL. The base defaults
 * to https://qyapi.weixin.qq.com for `native:` corps and to the simulator's own URL for `simulator:`
 * corps (the simulator serves the APIs too), so only a gateway or a test needs `--api-base`.
 */
import type { Kysely } from 'kysely';
import type { CorpRegistry } from '../corps/corp-registry.ts';
import { maskUrlCredentials, type SdkSpec, validateSecret } from '../corps/corp-settings.ts';
import { ValidationError } from '../errors/errors.ts';
import { inTransaction } from '../store/in-transaction.ts';
import type { Database } from '../store/schema.ts';
import { openSecret, sealSecret } from '../vault/secret-box.ts';
import type { ApiCorp } from './wecom-api-client.ts';

export const WECOM_API_BASE = 'https://qyapi.weixin.qq.com';

export const contactsAad = (corpid: string) => `corp:${corpid}:contacts-secret`;
export const customerAad = (corpid: string) => `corp:${corpid}:customer-secret`;

/** What `corp secrets` changes; undefined leaves a setting as it is, null clears it. */
export interface ApiSettingsChange {
  contactsSecret?: string | null;
  customerSecret?: string | null;
  apiBase?: string | null;
}

/** What may be shown: no secret. */
export interface ApiSettingsSummary {
  corpid: string;
  apiBase: string;
  apiBaseIsDefault: boolean;
  hasContactsSecret: boolean;
  hasCustomerSecret: boolean;
}

export function defaultApiBase(sdk: SdkSpec): string {
  return sdk.kind === 'simulator' ? sdk.url : WECOM_API_BASE;
}

/** Checks an API base URL given by a user: http(s), no query, no credentials. */
export function parseApiBase(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
    // the refused URL is shown to say what was wrong, but never a password or a query (tokens) in it
    const shown = maskUrlCredentials(text).replace(/([?#]).*$/s, '$1***');
    throw new ValidationError(
      'API_BASE_INVALID',
      `--api-base must be an http(s) URL without query or credentials, e.g. ${WECOM_API_BASE}; got ${JSON.stringify(shown.slice(0, 200))}`,
    );
  }
  return url.toString().replace(/\/+$/, '');
}

/** Checks a contacts or customer contact secret as given by a user or a file (`flag` names the field). */
export function validateApiSecret(value: string | null | undefined, flag: string): void {
  if (value === undefined || value === null) return;
  validateSecret(value, flag, 'the secret as shown in the WeCom admin console');
  if (/\s/.test(value)) throw new ValidationError('SECRET_INVALID', `${flag} must be the secret as shown in the WeCom admin console (no spaces)`);
}

export class CorpApiSettings {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly masterKey: Buffer,
    private readonly corps: CorpRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  async set(corpid: string, change: ApiSettingsChange): Promise<void> {
    await this.corps.get(corpid); // the corp must exist (NotFoundError otherwise)
    validateApiSecret(change.contactsSecret, '--contacts-secret');
    validateApiSecret(change.customerSecret, '--customer-secret');
    const apiBase = change.apiBase === undefined || change.apiBase === null ? change.apiBase : parseApiBase(change.apiBase);
    const row: Partial<Database['corp_api_settings']> = { updated_at: this.now() };
    if (change.contactsSecret !== undefined)
      row.contacts_secret_sealed = change.contactsSecret === null ? null : sealSecret(this.masterKey, change.contactsSecret, contactsAad(corpid));
    if (change.customerSecret !== undefined)
      row.customer_secret_sealed = change.customerSecret === null ? null : sealSecret(this.masterKey, change.customerSecret, customerAad(corpid));
    if (apiBase !== undefined) row.api_base = apiBase;
    await inTransaction(this.db, async (trx) => {
      const existing = await trx.selectFrom('corp_api_settings').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
      if (existing) await trx.updateTable('corp_api_settings').set(row).where('corpid', '=', corpid).execute();
      else {
        await trx
          .insertInto('corp_api_settings')
          .values({
            corpid,
            api_base: row.api_base ?? null,
            contacts_secret_sealed: row.contacts_secret_sealed ?? null,
            customer_secret_sealed: row.customer_secret_sealed ?? null,
            updated_at: row.updated_at!,
          })
          .execute();
      }
    });
  }

  async summary(corpid: string): Promise<ApiSettingsSummary> {
    const corp = await this.corps.get(corpid);
    const row = await this.db.selectFrom('corp_api_settings').selectAll().where('corpid', '=', corpid).executeTakeFirst();
    return {
      corpid,
      apiBase: row?.api_base ?? defaultApiBase(corp.sdk),
      apiBaseIsDefault: !row?.api_base,
      hasContactsSecret: Boolean(row?.contacts_secret_sealed),
      hasCustomerSecret: Boolean(row?.customer_secret_sealed),
    };
  }

  /** The corp with every API secret opened, for the API client. Never log it. */
  async apiCorp(corpid: string): Promise<ApiCorp> {
    const corp = await this.corps.get(corpid);
    const row = await this.db.selectFrom('corp_api_settings').selectAll().where('corpid', '=', corpid).executeTakeFirst();
    return {
      corpid,
      apiBase: row?.api_base ?? defaultApiBase(corp.sdk),
      secrets: {
        archive: corp.secret,
        contacts: row?.contacts_secret_sealed ? openSecret(this.masterKey, row.contacts_secret_sealed, contactsAad(corpid)).toString('utf8') : null,
        customer: row?.customer_secret_sealed ? openSecret(this.masterKey, row.customer_secret_sealed, customerAad(corpid)).toString('utf8') : null,
      },
      proxy: corp.proxy,
      proxyAuth: corp.proxyAuth,
      timeoutS: corp.timeoutS,
    };
  }
}
