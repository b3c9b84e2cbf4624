/**
 * Sign in with WeCom, the parts that are not HTTP: the authorize URL a browser is sent to, the
 * `state` that ties WeCom's redirect back to the browser that started it, the `next` path kept
 * safe, and who a returned `code` names. The routes (api/wecom-login-routes.ts) set the cookie and
 * sign the member in through the accounts store.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ArchiveError } from '../errors/errors.ts';
import { WeComApiError } from '../errors/wecom-codes.ts';
import type { WeComApiClient } from '../wecom-api/wecom-api-client.ts';
import { getUserInfoByCode } from '../wecom-api/wecom-endpoints.ts';
import type { LoginApp, LoginApps } from './wecom-login-apps.ts';

/** Where WeCom sends the browser back: the archive's public URL and this path. */
export const WECOM_CALLBACK_PATH = '/api/session/wecom/callback';

/** 网页授权 inside the WeCom client, or 扫码登录 (a QR code to scan with it) in any other browser. */
export type AuthorizeMode = 'oauth' | 'sso';

/** How long a started sign-in may take: scanning a QR code and confirming on the phone. */
export const STATE_TTL_MS = 10 * 60_000;

/** A userid as WeCom makes them (and as `users add --wecom-userid` takes them). */
const WECOM_USERID = /^[A-Za-z0-9_.@-]{1,64}$/;
/** WeCom's state: at most 128 bytes of a-zA-Z0-9; ours is 32 hex digits. */
const STATE = /^[0-9a-f]{32}$/;
/** A code as WeCom hands them out; anything else is not worth an API call. */
const CODE = /^[A-Za-z0-9_-]{1,512}$/;

/** The WeCom client's browser says so in its user agent (`wxwork/…`); any other gets the QR page. */
export function authorizeModeOf(userAgent: string): AuthorizeMode {
  return /\bwxwork\//i.test(userAgent) ? 'oauth' : 'sso';
}

/**
 * `next` if it is a path on this server, else undefined: it must start with one `/` (not `//` or
 * `/\`, which browsers read as another host), and hold no scheme, control character or backslash.
 */
export function safeNext(next: string | undefined): string | undefined {
  if (next === undefined || next.length > 1024 || !next.startsWith('/')) return undefined;
  if (next.startsWith('//') || /[\\\u0000-\u001f\u007f]/.test(next)) return undefined;
  // resolved against a placeholder origin, a path stays on it; anything that leaves it is refused
  const url = new URL(next, 'http://archive.invalid');
  return url.origin === 'http://archive.invalid' ? `${url.pathname}${url.search}${url.hash}` : undefined;
}

/** The URL that starts a sign-in at WeCom for `app`, carrying `state`. */
export function authorizeUrl(app: LoginApp | Omit<LoginApp, 'secret'>, state: string, mode: AuthorizeMode): string {
  const redirectUri = `${app.publicUrl}${WECOM_CALLBACK_PATH}`;
  if (mode === 'oauth') {
    const url = new URL(`${app.authorize.oauth}/connect/oauth2/authorize`);
    url.search = new URLSearchParams({ appid: app.corpid, redirect_uri: redirectUri, response_type: 'code', scope: 'snsapi_base', state, agentid: app.agentid }).toString();
    // WeCom wants the fragment: without it the client shows an error page
    return `${url.toString()}#wechat_redirect`;
  }
  const url = new URL(`${app.authorize.sso}/wwlogin/sso/login`);
  url.search = new URLSearchParams({ login_type: 'CorpApp', appid: app.corpid, agentid: app.agentid, redirect_uri: redirectUri, state }).toString();
  return url.toString();
}

/** What the browser keeps between the start and WeCom's redirect back (in an HttpOnly cookie). */
export interface PendingSignIn {
  readonly state: string;
  readonly corpid: string;
  readonly next: string | undefined;
  /** ms */
  readonly startedAt: number;
}

export function newState(): string {
  return randomBytes(16).toString('hex');
}

/** The cookie's value: base64url JSON, so no character needs quoting in a Cookie header. */
export function encodePending(p: PendingSignIn): string {
  return Buffer.from(JSON.stringify({ s: p.state, c: p.corpid, n: p.next ?? null, t: p.startedAt })).toString('base64url');
}

/**
 * The pending sign-in of a cookie, if it is well formed, not older than STATE_TTL_MS, and its state
 * equals the one WeCom brought back (compared in constant time); undefined otherwise.
 */
export function matchPending(cookie: string | undefined, state: string | undefined, now: number): PendingSignIn | undefined {
  if (cookie === undefined || state === undefined || !STATE.test(state) || cookie.length > 4096) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { s, c, n, t } = raw as Record<string, unknown>;
  if (typeof s !== 'string' || !STATE.test(s) || typeof c !== 'string' || typeof t !== 'number') return undefined;
  if (!timingSafeEqual(Buffer.from(s), Buffer.from(state))) return undefined;
  if (!(t <= now && now - t < STATE_TTL_MS)) return undefined;
  return { state: s, corpid: c, next: typeof n === 'string' ? safeNext(n) : undefined, startedAt: t };
}

/** Who a code names: a member by userid, or someone WeCom knows only by openid. */
export type WecomIdentity = { readonly kind: 'member'; readonly userid: string } | { readonly kind: 'outsider' };

/** Why a code named no one; `wecomCode` is WeCom's errcode where it gave one, `cause` the error for the log. */
export type IdentifyFailure = { readonly reason: 'code_invalid' | 'wecom_error' | 'no_app'; readonly wecomCode?: number; readonly cause?: ArchiveError };

/** WeCom's answer to a code that is wrong, used or expired. */
const CODE_INVALID = 40029;

export class WecomSignIn {
  constructor(
    private readonly apps: LoginApps,
    private readonly loginClient: (corpid: string, secret: string) => Promise<WeComApiClient>,
  ) {}

  /** The corps whose members may sign in with WeCom, with their buttons' names. */
  async methods(): Promise<Array<{ corpid: string; name: string }>> {
    return (await this.apps.list()).map((a) => ({ corpid: a.corpid, name: a.name }));
  }

  /** The authorize URL for a corp's login app, or undefined when the corp has none. */
  async authorizeUrl(corpid: string, state: string, mode: AuthorizeMode): Promise<string | undefined> {
    const app = await this.apps.find(corpid);
    return app && authorizeUrl(app, state, mode);
  }

  /**
   * Exchanges `code` (once: WeCom refuses it the second time) for who it names. A WeCom error is
   * a failure with its code, never its text, which may echo the request.
   */
  async identify(corpid: string, code: string): Promise<WecomIdentity | IdentifyFailure> {
    if (!CODE.test(code)) return { reason: 'code_invalid' };
    const app = await this.apps.find(corpid);
    if (!app) return { reason: 'no_app' };
    let userid: string | null;
    try {
      ({ userid } = await getUserInfoByCode(await this.loginClient(corpid, app.secret), code));
    } catch (err) {
      if (err instanceof WeComApiError) return { reason: err.wecomCode === CODE_INVALID ? 'code_invalid' : 'wecom_error', wecomCode: err.wecomCode, cause: err };
      // WeCom unreachable, an answer not as documented, the corp's settings unreadable
      if (err instanceof ArchiveError) return { reason: 'wecom_error', cause: err };
      throw err;
    }
    // a userid that could never be bound (too long, odd characters) signs in no one either
    if (userid === null || !WECOM_USERID.test(userid)) return { kind: 'outsider' };
    return { kind: 'member', userid };
  }
}
