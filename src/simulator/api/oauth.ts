/**
 * Sign in with WeCom as the simulator serves it: the two authorize pages (网页授权
 * `/connect/oauth2/authorize`, 扫码登录 `/wwlogin/sso/login`) and `auth/getuserinfo`.
 *
 * A real authorize page knows who is signed in to WeCom on that phone or who scanned the QR code;
 * here a test says so, for all later sign-ins (`POST /control/oauth {"userid": "…"}`) or for one
 * (`sim_userid=…` added to the authorize URL). The page then redirects to redirect_uri with a code
 * and the state, as WeCom does. A code is good for one getuserinfo within 5 minutes (simulator
 * clock); any other answers 40029. A userid that is not a member of the corp (a customer's id, any
 * other text) gets an openid and no userid, as a WeChat user would.
 */
import { createHash, randomBytes } from 'node:crypto';

/** WeCom: a code expires after 5 minutes. */
const CODE_TTL_MS = 5 * 60_000;

export interface AuthorizeAnswer {
  readonly status: number;
  /** set on a redirect */
  readonly location?: string;
  /** set on an error page (JSON, as the simulator's other errors) */
  readonly json?: { error: string; message: string };
}

const refused = (message: string): AuthorizeAnswer => ({ status: 400, json: { error: 'SIM_AUTHORIZE_INVALID', message } });

export class SimOAuth {
  /** who is signed in to WeCom in "the browser" (control route); null: nobody */
  signedIn: string | null = null;
  private readonly codes = new Map<string, { userid: string; expiresAt: number }>();

  constructor(
    private readonly corpid: () => string,
    /** the AgentId of the app whose Secret `login` is */
    readonly agentid: string,
    private readonly isMember: (userid: string) => boolean,
    private readonly now: () => number,
  ) {}

  /** Serves GET `path` (one of the two authorize pages) with its query. */
  authorize(path: '/connect/oauth2/authorize' | '/wwlogin/sso/login', q: URLSearchParams): AuthorizeAnswer {
    if (q.get('appid') !== this.corpid()) return refused('appid is not this corp');
    if (q.get('agentid') !== this.agentid) return refused(`agentid is not the sign-in app's (${this.agentid})`);
    if (path === '/connect/oauth2/authorize' && (q.get('response_type') !== 'code' || q.get('scope') !== 'snsapi_base'))
      return refused('response_type must be code and scope snsapi_base');
    if (path === '/wwlogin/sso/login' && q.get('login_type') !== 'CorpApp') return refused('login_type must be CorpApp');
    const state = q.get('state') ?? '';
    if (state.length > 128 || !/^[A-Za-z0-9]*$/.test(state)) return refused('state is at most 128 letters and digits');
    let target: URL;
    try {
      target = new URL(q.get('redirect_uri') ?? '');
    } catch {
      return refused('redirect_uri is not a URL');
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') return refused('redirect_uri must be http(s)');
    const userid = q.get('sim_userid') ?? this.signedIn;
    if (!userid) return refused('nobody is signed in to WeCom here: add sim_userid=USERID to the URL or POST /control/oauth {"userid": "…"}');
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, { userid, expiresAt: this.now() + CODE_TTL_MS });
    if (this.codes.size > 10_000) this.forgetExpired();
    target.searchParams.set('code', code);
    if (state !== '') target.searchParams.set('state', state);
    return { status: 302, location: target.toString() };
  }

  /** auth/getuserinfo's answer to `code` (the token was checked before). */
  userInfo(code: string | null): Record<string, unknown> {
    const entry = code === null ? undefined : this.codes.get(code);
    if (code !== null) this.codes.delete(code);
    if (!entry || entry.expiresAt <= this.now()) return { errcode: 40029, errmsg: 'invalid code' };
    if (this.isMember(entry.userid)) return { errcode: 0, errmsg: 'ok', userid: entry.userid };
    const openid = `o${createHash('sha256').update(`${this.corpid()}\0${entry.userid}`).digest('base64url').slice(0, 27)}`;
    return { errcode: 0, errmsg: 'ok', openid, ...(entry.userid.startsWith('wm') || entry.userid.startsWith('wo') ? { external_userid: entry.userid } : {}) };
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [code, e] of this.codes) if (e.expiresAt <= now) this.codes.delete(code);
  }
}
