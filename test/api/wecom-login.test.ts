/**
 * Sign in with WeCom end to end on every dialect: the archive's real HTTP server and the simulator
 * standing in for WeCom (its authorize pages and auth/getuserinfo), with every redirect followed by
 * hand as a browser would, cookies included. A bound member signs in (QR page in a browser, 网页授权
 * in the WeCom client) and lands on `next`; an unbound member, a disabled account, an outsider, a
 * foreign state, a reused or expired code and a throttled address are each refused with their code
 * on /login; `next` never leaves the server; every attempt leaves its audit row.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { type HttpServer, startHttpServer } from '../../src/api/http-server.ts';
import { createLogger } from '../../src/app/logger.ts';
import { registerCorps, simulatorCorp } from '../../src/corps/corp-registration.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator/server.ts';
import type { Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { describeEachDialect } from '../support/databases.ts';

const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36';
const WECOM_CLIENT = 'Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36 wxwork/4.1.20 MicroMessenger/7.0.1 Language/zh';
const PASSWORD = 'a-long-enough-password';
const CLI = { username: 'test', requestId: 'test' };

/** The `name=value` of a Set-Cookie header for `name`, and the header itself. */
function cookieOf(res: Response, name: string): { pair: string; header: string } | undefined {
  const header = res.headers.getSetCookie().find((c) => c.startsWith(`${name}=`));
  return header ? { pair: header.split(';')[0]!, header } : undefined;
}

describeEachDialect('sign in with WeCom', ({ open }) => {
  let store: Store;
  let app: App;
  let sim: RunningSimulator;
  let server: HttpServer;
  let base: string;
  let corpid: string;
  /** members of the simulated corp: bound, bound but disabled, and not bound */
  let [bound, disabled, unbound] = ['', '', ''];

  beforeAll(async () => {
    store = await open();
    app = appWithEnv(store);
    sim = await startSimulator({ messages: 0, seed: 'wecom-login' });
    corpid = sim.corp.corpid;
    await registerCorps(app, [simulatorCorp(sim, { apiSecrets: false, callbackApps: false })]);
    [bound, disabled, unbound] = [...sim.api.data.members.keys()] as [string, string, string];
    await app.access.admin.addUser(CLI, { username: 'zhang', role: 'viewer', password: PASSWORD, grants: [], wecom: { corpid, userid: bound } });
    await app.access.admin.addUser(CLI, { username: 'li', role: 'viewer', password: PASSWORD, grants: [], wecom: { corpid, userid: disabled } });
    await app.access.admin.setDisabled(CLI, 'li', true);
    server = await startHttpServer(app, 0, createLogger('silent'), '127.0.0.1', { access: { authenticator: app.access.accounts, audit: app.access.audit } });
    base = `http://127.0.0.1:${server.port}`;
    await app.loginApps.set({ corpid, agentid: sim.api.oauth.agentid, secret: sim.api.secrets.login, publicUrl: base, name: '模拟企业' });
  });

  afterAll(async () => {
    await server?.close();
    await sim?.close();
  });

  const auditRows = () => store.db.selectFrom('audit_log').selectAll().where('action', 'in', ['login', 'login_failed']).orderBy('id').execute();
  const codeExchanges = () => sim.api.calls.get('/cgi-bin/auth/getuserinfo') ?? 0;

  /** GET /api/session/wecom as a browser: the redirect to WeCom and the state cookie. */
  async function start(query: string, userAgent = BROWSER): Promise<{ authorize: URL; state: { pair: string; header: string } }> {
    const res = await fetch(`${base}/api/session/wecom?${query}`, { redirect: 'manual', headers: { 'user-agent': userAgent } });
    expect(res.status, await res.clone().text()).toBe(302);
    const state = cookieOf(res, 'wecom_archive_wecom_state');
    expect(state).toBeDefined();
    return { authorize: new URL(res.headers.get('location')!), state: state! };
  }

  /** The simulator's authorize page, with `userid` signed in to WeCom: the redirect back to the archive. */
  async function authorize(url: URL, userid: string): Promise<string> {
    const page = new URL(url);
    page.searchParams.set('sim_userid', userid);
    const res = await fetch(page, { redirect: 'manual' });
    expect(res.status, await res.clone().text()).toBe(302);
    return res.headers.get('location')!;
  }

  /** WeCom's redirect back, with the cookie the browser holds. */
  async function callback(url: string, cookie: string | undefined): Promise<{ status: number; location: string; session: string | undefined; res: Response }> {
    const res = await fetch(url, { redirect: 'manual', headers: { 'user-agent': BROWSER, ...(cookie ? { cookie } : {}) } });
    return { status: res.status, location: res.headers.get('location') ?? '', session: cookieOf(res, 'wecom_archive_session')?.pair, res };
  }

  /** The whole flow for `userid`, as one browser. */
  async function signIn(userid: string, query = `corp=${corpid}`, userAgent = BROWSER) {
    const { authorize: url, state } = await start(query, userAgent);
    return callback(await authorize(url, userid), state.pair);
  }

  it('offers WeCom on the login page for the corp with a login app', async () => {
    const res = await fetch(`${base}/api/session/methods`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ password: true, wecom: [{ corpid, name: '模拟企业', url: `/api/session/wecom?corp=${corpid}` }] });
  });

  it('describes its three routes in the OpenAPI document, redirects included', async () => {
    const doc = (await (await fetch(`${base}/api/openapi.json`)).json()) as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(Object.keys(doc.paths['/api/session/methods']!.get!.responses)).toEqual(['200']);
    for (const path of ['/api/session/wecom', '/api/session/wecom/callback']) expect(Object.keys(doc.paths[path]!.get!.responses), path).toEqual(['302', '400']);
  });

  it('signs a bound member in from a browser (QR page) and lands on next', async () => {
    const before = (await auditRows()).length;
    const { authorize: url, state } = await start(`corp=${corpid}&next=${encodeURIComponent('/c/room?x=1')}`);
    // the QR login page, for this corp's app, coming back to this server's callback
    expect(`${url.origin}${url.pathname}`).toBe(`${sim.url}/wwlogin/sso/login`);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      login_type: 'CorpApp',
      appid: corpid,
      agentid: sim.api.oauth.agentid,
      redirect_uri: `${base}/api/session/wecom/callback`,
      state: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(state.header).toMatch(/; HttpOnly/i);
    expect(state.header).toMatch(/; SameSite=Lax/i);
    expect(state.header).toMatch(/; Path=\/api\/session\/wecom(;|$)/i);

    const back = await callback(await authorize(url, bound), state.pair);
    expect(back.status).toBe(302);
    expect(back.location).toBe('/c/room?x=1');
    expect(back.session).toBeDefined();
    // the state is spent: the answer clears its cookie
    expect(cookieOf(back.res, 'wecom_archive_wecom_state')?.header).toMatch(/Expires=Thu, 01 Jan 1970/i);

    const me = await fetch(`${base}/api/me`, { headers: { cookie: back.session! } });
    expect(await me.json()).toEqual({ user: { username: 'zhang', role: 'viewer' }, reasonRequired: false, watermark: true });

    const rows = (await auditRows()).slice(before);
    expect(rows.map((r) => [r.action, r.username, r.corpid])).toEqual([['login', 'zhang', corpid]]);
    expect(JSON.parse(rows[0]!.query!)).toEqual({ via: 'wecom', wecom: `${corpid}:${bound}` });
  });

  it('uses 网页授权 inside the WeCom client, and goes to / without next', async () => {
    const { authorize: url, state } = await start(`corp=${corpid}`, WECOM_CLIENT);
    expect(`${url.origin}${url.pathname}`).toBe(`${sim.url}/connect/oauth2/authorize`);
    expect(url.hash).toBe('#wechat_redirect');
    expect(url.searchParams.get('scope')).toBe('snsapi_base');
    expect(url.searchParams.get('response_type')).toBe('code');
    const back = await callback(await authorize(url, bound), state.pair);
    expect([back.status, back.location]).toEqual([302, '/']);
    expect(back.session).toBeDefined();
  });

  it('refuses a member no account is bound to, a disabled account and an outsider', async () => {
    const before = (await auditRows()).length;
    const externalId = [...sim.api.data.externals.keys()][0]!;
    for (const [who, error] of [
      [unbound, 'WECOM_NOT_BOUND'],
      [disabled, 'LOGIN_DISABLED'],
      [externalId, 'WECOM_NOT_MEMBER'],
    ] as const) {
      const back = await signIn(who);
      expect([back.status, back.location], who).toEqual([302, `/login?error=${error}`]);
      expect(back.session, who).toBeUndefined();
    }
    const rows = (await auditRows()).slice(before);
    expect(rows.map((r) => [r.action, r.username, r.corpid, JSON.parse(r.query!).outcome])).toEqual([
      ['login_failed', `wecom:${corpid}:${unbound}`, corpid, 'refused'],
      ['login_failed', `wecom:${corpid}:${disabled}`, corpid, 'disabled'],
      ['login_failed', `wecom:${corpid}`, corpid, 'not_member'],
    ]);
  });

  it('refuses a state this browser did not start, before asking WeCom', async () => {
    const mine = await start(`corp=${corpid}`);
    const theirs = await start(`corp=${corpid}`);
    // the attacker's code and state, in the victim's browser (login CSRF)
    const forged = await authorize(theirs.authorize, bound);
    const exchanges = codeExchanges();
    const before = (await auditRows()).length;
    for (const cookie of [mine.state.pair, undefined, 'wecom_archive_wecom_state=bm90LWpzb24']) {
      const back = await callback(forged, cookie);
      expect([back.status, back.location]).toEqual([302, '/login?error=WECOM_STATE_INVALID']);
      expect(back.session).toBeUndefined();
    }
    expect(codeExchanges()).toBe(exchanges);
    const rows = (await auditRows()).slice(before);
    expect(rows.map((r) => [r.action, JSON.parse(r.query!).outcome])).toEqual(Array(3).fill(['login_failed', 'state_mismatch']));
  });

  it('refuses a code used once already, and one that expired', async () => {
    const { authorize: url, state } = await start(`corp=${corpid}`);
    const back = await authorize(url, bound);
    expect((await callback(back, state.pair)).session).toBeDefined();
    // the same redirect again, cookie and all (a replay): WeCom refuses the spent code
    const replay = await callback(back, state.pair);
    expect([replay.status, replay.location, replay.session]).toEqual([302, '/login?error=WECOM_CODE_INVALID', undefined]);

    const late = await start(`corp=${corpid}`);
    const lateBack = await authorize(late.authorize, bound);
    sim.advanceClock(5 * 60_000 + 1_000);
    const expired = await callback(lateBack, late.state.pair);
    expect([expired.status, expired.location, expired.session]).toEqual([302, '/login?error=WECOM_CODE_INVALID', undefined]);
    const last = (await auditRows()).slice(-1)[0]!;
    expect([last.action, JSON.parse(last.query!).outcome]).toEqual(['login_failed', 'code_invalid']);
  });

  it('never follows a next that leaves the server', async () => {
    for (const next of ['//evil.com', '//evil.com/x', 'https://evil.com/', '/\\evil.com', 'javascript:alert(1)', '/%0d%0aSet-Cookie:x=1']) {
      const back = await signIn(bound, `corp=${corpid}&next=${encodeURIComponent(next)}`);
      expect(back.status, next).toBe(302);
      expect(back.location, next).toBe(next.startsWith('/%') ? next : '/');
    }
  });

  it('sends an unknown corp back to the login page', async () => {
    const res = await fetch(`${base}/api/session/wecom?corp=wwnosuchcorp`, { redirect: 'manual' });
    expect([res.status, res.headers.get('location')]).toEqual([302, '/login?error=WECOM_LOGIN_UNAVAILABLE']);
    expect(cookieOf(res, 'wecom_archive_wecom_state')).toBeUndefined();
    // and a corp id that is no corp id at all is a 400
    expect((await fetch(`${base}/api/session/wecom?corp=${encodeURIComponent('a/b')}`, { redirect: 'manual' })).status).toBe(400);
  });

  it('rate-limits the callback per address, like password sign-ins', async () => {
    const api = await buildApi(app, createLogger('silent'), {
      access: { authenticator: app.access.accounts, audit: app.access.audit },
      loginLimits: { perIp: 2, perUsername: 100, windowMs: 60_000 },
    });
    try {
      const locations: string[] = [];
      for (let i = 0; i < 3; i++) locations.push((await api.inject({ method: 'GET', url: '/api/session/wecom/callback?code=x&state=y' })).headers.location as string);
      expect(locations).toEqual(['/login?error=WECOM_STATE_INVALID', '/login?error=WECOM_STATE_INVALID', '/login?error=LOGIN_RATE_LIMITED']);
      const last = (await auditRows()).slice(-1)[0]!;
      expect([last.action, JSON.parse(last.query!).outcome]).toEqual(['login_failed', 'throttled']);
    } finally {
      await api.close();
    }
  });
});
