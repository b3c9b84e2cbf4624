/**
 * Which WeCom app signs users in, per corp (`corp login-app`): a self-built app (自建应用) whose
 * OAuth2 (网页授权 inside the WeCom client, 扫码登录 in a browser) names the member who signs in.
 * Its Secret is sealed at rest like the other secrets (aad names the corp); the rest is shown.
 */
import type { Kysely } from 'kysely';
import { maskUrlCredentials, storedSdkSpec, validateCorpId } from '../corps/corp-settings.ts';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import { inTransaction } from '../store/in-transaction.ts';
import type { Database } from '../store/schema.ts';
import { openSecret, sealSecret } from '../vault/secret-box.ts';
import { validateApiSecret } from '../wecom-api/corp-api-settings.ts';

export const loginSecretAad = (corpid: string) => `corp:${corpid}:login-secret`;

/** WeCom's own pages: 网页授权 (inside the WeCom client) and 扫码登录 (a QR code in any browser). */
export const WECOM_OAUTH_BASE = 'https://open.weixin.qq.com';
export const WECOM_SSO_BASE = 'https://login.work.weixin.qq.com';

/** What `corp login-app` sets. */
export interface LoginAppInput {
  readonly corpid: string;
  readonly agentid: string;
  readonly secret: string;
  /** the archive's address as browsers reach it, e.g. https://archive.example.com */
  readonly publicUrl: string;
  /** the sign-in button's name; default: the corpid */
  readonly name?: string | undefined;
  /** null or absent: WeCom's own pages (the simulator's, for a simulator corp) */
  readonly authorizeBase?: string | null | undefined;
}

/** What may be shown: no secret. */
export interface LoginAppSummary {
  readonly corpid: string;
  readonly agentid: string;
  readonly name: string;
  readonly publicUrl: string;
  /** where the authorize pages are: both of WeCom's, or one base for both (the simulator, a gateway) */
  readonly authorize: { readonly oauth: string; readonly sso: string };
  readonly authorizeIsDefault: boolean;
}

/** An opened login app. Holds the Secret: never log it. */
export interface LoginApp extends LoginAppSummary {
  readonly secret: string;
}

const AGENTID = /^[0-9]{1,10}$/;

/** A URL given by a user: http(s), no credentials, query or fragment; `originOnly` also refuses a path. */
function parseBase(text: string, flag: string, originOnly: boolean): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  const bad =
    !url ||
    (url.protocol !== 'http:' && url.protocol !== 'https:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    (originOnly && url.pathname !== '/');
  if (bad) {
    const shown = maskUrlCredentials(text).replace(/([?#]).*$/s, '$1***');
    const form = originOnly ? 'scheme and host only, e.g. https://archive.example.com' : 'http(s) without query or credentials';
    throw new ValidationError('LOGIN_APP_INVALID', `${flag} must be ${form}; got ${JSON.stringify(shown.slice(0, 200))}`);
  }
  return originOnly ? url!.origin : url!.toString().replace(/\/+$/, '');
}

/** Checks everything `corp login-app` stores; the Secret never appears in an error. */
export function validateLoginApp(input: LoginAppInput): Required<LoginAppInput> {
  validateCorpId(input.corpid);
  if (!AGENTID.test(input.agentid))
    throw new ValidationError('LOGIN_APP_INVALID', `--agentid must be the app's AgentId (digits, e.g. 1000002), got ${JSON.stringify(input.agentid.slice(0, 40))}`);
  validateApiSecret(input.secret, '--secret');
  const name = input.name ?? input.corpid;
  // shown on a button: one short line of visible characters
  if (name.trim() === '' || name.length > 64 || /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name))
    throw new ValidationError('LOGIN_APP_INVALID', '--name must be 1–64 characters on one line');
  return {
    corpid: input.corpid,
    agentid: input.agentid,
    secret: input.secret,
    name: name.trim(),
    publicUrl: parseBase(input.publicUrl, '--public-url', true),
    authorizeBase: input.authorizeBase === undefined || input.authorizeBase === null ? null : parseBase(input.authorizeBase, '--authorize-base', false),
  };
}

export class LoginApps {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly masterKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  /** Sets the corp's login app (one per corp: a second call replaces the first). */
  async set(input: LoginAppInput): Promise<void> {
    const app = validateLoginApp(input);
    const now = this.now();
    const row = {
      agentid: app.agentid,
      name: app.name,
      secret_sealed: sealSecret(this.masterKey, app.secret, loginSecretAad(app.corpid)),
      public_url: app.publicUrl,
      authorize_base: app.authorizeBase,
      updated_at: now,
    };
    await inTransaction(this.db, async (trx) => {
      const corp = await trx.selectFrom('corps').select('corpid').where('corpid', '=', app.corpid).executeTakeFirst();
      if (!corp) throw new NotFoundError('CORP_NOT_FOUND', `corp ${app.corpid} is not configured; add it with \`wecom-archive corp add\` first`);
      const existing = await trx.selectFrom('wecom_login_apps').select('corpid').where('corpid', '=', app.corpid).executeTakeFirst();
      if (existing) await trx.updateTable('wecom_login_apps').set(row).where('corpid', '=', app.corpid).execute();
      else
        await trx
          .insertInto('wecom_login_apps')
          .values({ corpid: app.corpid, created_at: now, ...row })
          .execute();
    });
  }

  async remove(corpid: string): Promise<void> {
    const r = await this.db.deleteFrom('wecom_login_apps').where('corpid', '=', corpid).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) throw new NotFoundError('LOGIN_APP_NOT_FOUND', `corp ${corpid} has no app to sign in with WeCom`);
  }

  /** The login apps of corps that are configured, by corpid. */
  async list(): Promise<LoginAppSummary[]> {
    const rows = await this.rows().orderBy('a.corpid').execute();
    return rows.map((r) => summaryOf(r));
  }

  /** The opened login app of a configured corp, or undefined. */
  async find(corpid: string): Promise<LoginApp | undefined> {
    const row = await this.rows().where('a.corpid', '=', corpid).executeTakeFirst();
    if (!row) return undefined;
    return { ...summaryOf(row), secret: openSecret(this.masterKey, row.secret_sealed, loginSecretAad(row.corpid)).toString('utf8') };
  }

  private rows() {
    // a removed corp signs no one in, though its login app stays for when it is added again
    return this.db
      .selectFrom('wecom_login_apps as a')
      .innerJoin('corps as c', 'c.corpid', 'a.corpid')
      .select(['a.corpid', 'a.agentid', 'a.name', 'a.secret_sealed', 'a.public_url', 'a.authorize_base', 'c.sdk']);
  }
}

type Row = { corpid: string; agentid: string; name: string; public_url: string; authorize_base: string | null; sdk: string };

function summaryOf(r: Row): LoginAppSummary {
  const sdk = storedSdkSpec(r.sdk);
  // the simulator serves both authorize pages itself, as it serves the APIs
  const fallback = sdk.kind === 'simulator' ? sdk.url : undefined;
  const base = r.authorize_base ?? fallback;
  return {
    corpid: r.corpid,
    agentid: r.agentid,
    name: r.name,
    publicUrl: r.public_url,
    authorize: base === undefined ? { oauth: WECOM_OAUTH_BASE, sso: WECOM_SSO_BASE } : { oauth: base, sso: base },
    authorizeIsDefault: r.authorize_base === null,
  };
}
