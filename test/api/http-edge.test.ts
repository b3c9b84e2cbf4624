/**
 * The HTTP edge through Fastify's inject: validation, the one error mapping, 404s, security
 * headers, the OpenAPI document, sessions and their cookie, CSRF, bearer tokens, roles, the audit
 * of sign-ins, the sign-in limits and the request log. The edge touches the database only through
 * the accounts store (a fake here) and /api/status (status-exposure.test.ts, every dialect), so
 * these run on SQLite alone.
 */
import { Writable } from 'node:stream';
import { Type } from '@fastify/type-provider-typebox';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import { createLogger } from '../../src/app/logger.ts';
import type { ApiInstance, ApiRoutes } from '../../src/api/api-types.ts';
import { type ApiOptions, buildApi } from '../../src/api/build-api.ts';
import { NotFoundError } from '../../src/errors/errors.ts';
import { markDatabaseError } from '../../src/store/database-health.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { createTestDatabase, type TestDatabase } from '../support/databases.ts';
import { FakeAuthenticator, MemoryAuditTrail } from '../support/fake-access.ts';

let database: TestDatabase;
let store: Store;
let app: App;
beforeAll(async () => {
  database = await createTestDatabase('sqlite');
  store = await openStore(database.url);
  app = appWithEnv(store);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

const USERS = [
  { username: 'alice', password: 'alice-password-1', role: 'admin' as const },
  { username: 'victor', password: 'victor-password-1', role: 'viewer' as const },
  { username: 'lena', password: 'lena-password-01', role: 'auditor' as const, state: 'locked' as const },
];

/** Routes only these tests add: a parameter, a state-changing route for any caller, and errors thrown on purpose. */
const probeRoutes: ApiRoutes = (api) => {
  api.get('/api/probe/files/:name', { config: { access: 'public' }, schema: { params: Type.Object({ name: Type.String({ pattern: '^[0-9a-f]{64}$' }) }) } }, async (request) => ({
    name: request.params.name,
  }));
  api.post(
    '/api/probe/notes',
    { config: { access: 'signed-in' }, schema: { body: Type.Object({ text: Type.String({ maxLength: 100 }) }, { additionalProperties: false }) } },
    async (request) => ({ by: request.caller!.username, text: request.body.text }),
  );
  api.get('/api/probe/missing', { config: { access: 'public' } }, async () => {
    throw new NotFoundError('CORP_NOT_FOUND', 'no corp wwnothere');
  });
  api.get('/api/probe/crash', { config: { access: 'public' } }, async () => {
    throw new Error('secret internals at /srv/x');
  });
  api.get('/api/probe/outage', { config: { access: 'public' } }, async () => {
    // what the store's driver throws, and marks, when the database server is away
    const err = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    markDatabaseError(err);
    throw new Error('query failed', { cause: err });
  });
};

interface Edge {
  api: ApiInstance;
  auth: FakeAuthenticator;
  audit: MemoryAuditTrail;
  lines: Array<Record<string, unknown>>;
  raw: string[];
}

async function edge(options: Partial<ApiOptions> = {}): Promise<Edge> {
  const auth = new FakeAuthenticator(USERS);
  const audit = new MemoryAuditTrail();
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      raw.push(chunk.toString('utf8'));
      lines.push(JSON.parse(chunk.toString('utf8')));
      done();
    },
  });
  const api = await buildApi(app, pino({ level: 'info' }, sink), { access: { authenticator: auth, audit }, routes: [probeRoutes], ...options });
  await api.ready();
  return { api, auth, audit, lines, raw };
}

const SAME_ORIGIN = { origin: 'http://localhost' };

async function signIn(e: Edge, username: string, password: string, headers: Record<string, string> = {}) {
  return e.api.inject({ method: 'POST', url: '/api/session', payload: { username, password }, headers: { ...SAME_ORIGIN, ...headers } });
}

/** The session cookie's value from a sign-in answer. */
function sessionCookie(res: { cookies: Array<{ name: string; value: string }> }): string {
  const c = res.cookies.find((x) => x.name === 'wecom_archive_session');
  if (!c) throw new Error('no session cookie');
  return `wecom_archive_session=${c.value}`;
}

/** An error answer: exactly {error, message}, JSON, no stack. */
function expectErrorBody(res: { headers: Record<string, unknown>; body: string }, error: string): string {
  expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
  const body = JSON.parse(res.body);
  expect(Object.keys(body).sort()).toEqual(['error', 'message']);
  expect(body.error).toBe(error);
  expect(res.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  return body.message;
}

describe('HTTP edge', () => {
  it('validates every part of a request against its schema: 400 with {error, message}', async () => {
    const e = await edge();
    for (const payload of [{ username: '', password: 'x' }, { username: 'alice' }, { username: 'alice', password: 'p', admin: true }, { username: 7, password: 'p' }]) {
      const res = await e.api.inject({ method: 'POST', url: '/api/session', payload, headers: SAME_ORIGIN });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(expectErrorBody(res, 'REQUEST_INVALID')).toMatch(/body/);
    }
    // a path parameter: traversal and anything else off the pattern never reach the handler
    for (const name of ['..%2F..%2Fetc%2Fpasswd', '%2e%2e', '%2e%2e%5c%2e%2e%5cwin.ini', 'A'.repeat(64), 'a'.repeat(300)]) {
      const res = await e.api.inject({ method: 'GET', url: `/api/probe/files/${name}` });
      // refused by the schema, by no route matching (dot segments the URL parser resolves), or as too long for the router
      expect([400, 404, 414], `${name}: ${res.statusCode}`).toContain(res.statusCode);
      expectErrorBody(res, res.statusCode === 404 ? 'NOT_FOUND' : 'REQUEST_INVALID');
    }
    expect((await e.api.inject({ method: 'GET', url: `/api/probe/files/${'a'.repeat(64)}` })).json()).toEqual({ name: 'a'.repeat(64) });
    expect(e.auth.logins).toEqual([]);
  });

  it('maps bad bodies, unknown routes, archive errors and crashes to one JSON shape, logging only the crash', async () => {
    const e = await edge();
    const post = (payload: string | Buffer, contentType = 'application/json') =>
      e.api.inject({ method: 'POST', url: '/api/session', payload, headers: { ...SAME_ORIGIN, 'content-type': contentType } });
    expectErrorBody(await post('{"username": "alice", '), 'BODY_NOT_JSON');
    expectErrorBody(await post(Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0x80, 0x7d])), 'BODY_NOT_JSON');
    expectErrorBody(await post(''), 'BODY_NOT_JSON');
    const huge = await post(JSON.stringify({ username: 'alice', password: 'x'.repeat(200_000) }));
    expect(huge.statusCode).toBe(413);
    expectErrorBody(huge, 'BODY_TOO_LARGE');
    const plain = await post('username=alice', 'text/plain');
    expect(plain.statusCode).toBe(415);
    expectErrorBody(plain, 'MEDIA_TYPE_UNSUPPORTED');

    const missing = await e.api.inject({ method: 'GET', url: '/api/nothing/here?q=1' });
    expect(missing.statusCode).toBe(404);
    expect(expectErrorBody(missing, 'NOT_FOUND')).toBe('no route GET /api/nothing/here');
    const badUtf8 = await e.api.inject({ method: 'GET', url: '/api/probe/files/%FF%FE' });
    expect(badUtf8.statusCode).toBe(400);
    expectErrorBody(badUtf8, 'REQUEST_INVALID');

    const archive = await e.api.inject({ method: 'GET', url: '/api/probe/missing' });
    expect(archive.statusCode).toBe(404);
    expect(expectErrorBody(archive, 'CORP_NOT_FOUND')).toBe('no corp wwnothere');
    expect(e.lines.filter((l) => (l.level as number) >= 50)).toEqual([]);

    const crash = await e.api.inject({ method: 'GET', url: '/api/probe/crash' });
    expect(crash.statusCode).toBe(500);
    expect(expectErrorBody(crash, 'INTERNAL')).toBe('internal error');
    expect(crash.body).not.toContain('secret internals');
    const errors = e.lines.filter((l) => (l.level as number) >= 50);
    expect(errors).toHaveLength(1);
    // a database outage is the database's, not the request's: 503, logged once by the store's health
    const outage = await e.api.inject({ method: 'GET', url: '/api/probe/outage' });
    expect(outage.statusCode).toBe(503);
    expect(expectErrorBody(outage, 'DATABASE_UNREACHABLE')).toBe('the database is unreachable; try again later');
    expect(outage.body).not.toContain('10.0.0.5');
    expect(e.lines.filter((l) => (l.level as number) >= 50)).toHaveLength(1);
    expect(errors[0]!.msg).toBe('request failed');
    expect(JSON.stringify(errors[0]!.err)).toContain('secret internals');
  });

  it('hands the callback endpoint the raw request, and maps what it throws like any route', async () => {
    const seen: Array<{ url: string | undefined; body: string }> = [];
    let fail: Error | undefined;
    const e = await edge({
      callbacks: async (req, res) => {
        if (fail) throw fail;
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        seen.push({ url: req.url, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('success');
        return true;
      },
    });
    // no CSRF check, no caller, no parser: the XML and the query's `+` arrive as sent
    const sent = await e.api.inject({
      method: 'POST',
      url: '/callback/wwcorp/contacts?echostr=a+b%2Bc&nonce=1',
      payload: '<xml>x</xml>',
      headers: { 'content-type': 'text/xml', cookie: 'wecom_archive_session=x', origin: 'https://elsewhere.example' },
    });
    expect(sent.statusCode).toBe(200);
    expect(seen).toEqual([{ url: '/callback/wwcorp/contacts?echostr=a+b%2Bc&nonce=1', body: '<xml>x</xml>' }]);

    fail = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:3306'), { code: 'ECONNREFUSED' });
    markDatabaseError(fail);
    const outage = await e.api.inject({ method: 'POST', url: '/callback/wwcorp/contacts', payload: '<xml/>', headers: { 'content-type': 'text/xml' } });
    expect(outage.statusCode).toBe(503);
    expectErrorBody(outage, 'DATABASE_UNREACHABLE');
    fail = new Error('inbox exploded');
    const crash = await e.api.inject({ method: 'GET', url: '/callback/wwcorp/contacts' });
    expect(crash.statusCode).toBe(500);
    expect(expectErrorBody(crash, 'INTERNAL')).toBe('internal error');
    expect(e.lines.filter((l) => (l.level as number) >= 50).map((l) => l.msg)).toEqual(['callback request failed']);
  });

  it('sends a strict CSP and nosniff on every answer, errors included', async () => {
    const e = await edge();
    for (const url of ['/healthz', '/api/nothing', '/api/me']) {
      const res = await e.api.inject({ method: 'GET', url });
      expect(res.headers['x-content-type-options'], url).toBe('nosniff');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
    }
  });

  it('describes every route with its schemas at /api/openapi.json', async () => {
    const e = await edge();
    const res = await e.api.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { security?: unknown; requestBody?: unknown; parameters?: unknown[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    const declared = e.api.declaredRoutes.filter((r) => !r.hidden && r.method !== 'HEAD').map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`);
    expect(declared).toEqual(expect.arrayContaining(['GET /healthz', 'GET /api/status', 'POST /api/session', 'DELETE /api/session', 'GET /api/me', 'GET /api/openapi.json']));
    expect(listed.sort()).toEqual([...new Set(declared)].sort());
    expect(doc.paths['/api/session']!.post!.requestBody).toBeDefined();
    expect(doc.paths['/api/probe/files/{name}']!.get!.parameters).toHaveLength(1);
    expect(doc.paths['/api/status']!.get!.security).toEqual([{ session: [] }, { bearer: [] }]);
    expect(doc.paths['/healthz']!.get!.security).toBeUndefined();
  });

  it('refuses a route that forgets its access rule or its schemas', async () => {
    const forgetful: ApiRoutes[] = [
      (api) => void api.get('/api/probe/open', async () => ({})),
      (api) => void api.get('/api/probe/x/:id', { config: { access: 'public' } }, async () => ({})),
      (api) => void api.post('/api/probe/y', { config: { access: 'signed-in' } }, async () => ({})),
    ];
    for (const routes of forgetful) {
      await expect(buildApi(app, createLogger('silent'), { routes: [routes] }).then((api) => api.ready())).rejects.toThrow(/declares no access|no params schema|no body schema/);
    }
  });

  it('signs in with an HttpOnly, SameSite=Strict session cookie, Secure only over https through a trusted proxy', async () => {
    const e = await edge();
    const res = await signIn(e, 'alice', 'alice-password-1');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ user: { username: 'alice', role: 'admin' } });
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/^wecom_archive_session=[A-Za-z0-9_-]{20,};/);
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    expect(setCookie).toContain('Path=/');
    expect(setCookie).toContain('Expires=');
    expect(setCookie).not.toContain('Secure');
    // X-Forwarded-Proto is a client's word unless a proxy is trusted
    expect(String((await signIn(e, 'alice', 'alice-password-1', { 'x-forwarded-proto': 'https' })).headers['set-cookie'])).not.toContain('Secure');
    const proxied = await edge({ trustProxy: true });
    const https = await signIn(proxied, 'alice', 'alice-password-1', { 'x-forwarded-proto': 'https', host: 'archive.example', origin: 'https://archive.example' });
    expect(https.statusCode).toBe(200);
    expect(String(https.headers['set-cookie'])).toContain('Secure');

    const cookie = sessionCookie(res);
    const me = await e.api.inject({ method: 'GET', url: '/api/me', headers: { cookie } });
    expect(me.json()).toEqual({ user: { username: 'alice', role: 'admin' }, reasonRequired: false, watermark: true });
    // the watermark setting (`settings set watermark off`) reaches the UI through /api/me
    await app.access.admin.setSetting({ username: 'setup' }, 'watermark', 'off');
    expect((await e.api.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).json()).toMatchObject({ watermark: false });
    await app.access.admin.setSetting({ username: 'setup' }, 'watermark', 'on');
    expect((await e.api.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).json()).toMatchObject({ watermark: true });
    const out = await e.api.inject({ method: 'DELETE', url: '/api/session', headers: { cookie, ...SAME_ORIGIN } });
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/^wecom_archive_session=;.*Expires=Thu, 01 Jan 1970/);
    expect((await e.api.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).statusCode).toBe(401);
  });

  it('answers 401 without a caller and 403 for a role the route does not name', async () => {
    const e = await edge();
    const none = await e.api.inject({ method: 'GET', url: '/api/me' });
    expect(none.statusCode).toBe(401);
    expectErrorBody(none, 'UNAUTHENTICATED');
    for (const authorization of ['Bearer not-a-token', 'Basic YWxpY2U6eA==', 'Bearer']) {
      const res = await e.api.inject({ method: 'GET', url: '/api/me', headers: { authorization } });
      expect(res.statusCode, authorization).toBe(401);
      expectErrorBody(res, 'UNAUTHENTICATED');
    }
    expect((await e.api.inject({ method: 'GET', url: '/api/me', headers: { cookie: 'wecom_archive_session=forged-session-token-0000' } })).statusCode).toBe(401);
    const viewer = sessionCookie(await signIn(e, 'victor', 'victor-password-1'));
    const forbidden = await e.api.inject({ method: 'GET', url: '/api/status', headers: { cookie: viewer } });
    expect(forbidden.statusCode).toBe(403);
    expect(expectErrorBody(forbidden, 'FORBIDDEN')).toBe('this route is for admin; you are signed in as viewer');
    const token = e.auth.issueToken('victor');
    expect((await e.api.inject({ method: 'GET', url: '/api/status', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(403);
    expect((await e.api.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).json()).toEqual({
      user: { username: 'victor', role: 'viewer' },
      reasonRequired: false,
      watermark: true,
    });
  });

  it('refuses a state-changing request with a valid cookie from a foreign or unknown origin; bearer requests are exempt', async () => {
    const e = await edge();
    const cookie = sessionCookie(await signIn(e, 'victor', 'victor-password-1'));
    const note = (headers: Record<string, string>) => e.api.inject({ method: 'POST', url: '/api/probe/notes', payload: { text: 'hi' }, headers });
    const refusedHeaders: Array<Record<string, string>> = [
      { cookie, origin: 'https://evil.example' },
      { cookie, origin: 'null' },
      { cookie, origin: 'http://localhost:8081' },
      { cookie, referer: 'https://evil.example/page' },
      { cookie },
    ];
    for (const headers of refusedHeaders) {
      const res = await note(headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expectErrorBody(res, 'CSRF_ORIGIN_REFUSED');
    }
    // signing out is state-changing too: refused, and the session lives on
    expect((await e.api.inject({ method: 'DELETE', url: '/api/session', headers: { cookie, origin: 'https://evil.example' } })).statusCode).toBe(403);
    expect(e.auth.sessions.size).toBe(1);
    expect((await note({ cookie, ...SAME_ORIGIN })).json()).toEqual({ by: 'victor', text: 'hi' });
    expect((await note({ cookie, referer: 'http://localhost/app/search?q=x' })).statusCode).toBe(200);
    // a sign-in posted from another site's page
    expect((await signIn(e, 'victor', 'victor-password-1', { origin: 'https://evil.example' })).statusCode).toBe(403);
    // a bearer token is no ambient credential: no Origin needed, a foreign one does not matter
    const token = e.auth.issueToken('victor');
    expect((await note({ authorization: `Bearer ${token}`, origin: 'https://evil.example' })).statusCode).toBe(200);
    expect((await note({ authorization: `Bearer ${token}` })).statusCode).toBe(200);
  });

  it('writes every sign-in attempt and sign-out to the audit log before answering', async () => {
    const e = await edge();
    expect((await signIn(e, 'alice', 'wrong-password', { 'user-agent': 'curl/8' })).statusCode).toBe(401);
    const unknown = await signIn(e, 'nobody', 'whatever');
    expect(unknown.statusCode).toBe(401);
    expect(expectErrorBody(unknown, 'LOGIN_REFUSED')).toBe('wrong username or password');
    expect((await signIn(e, 'lena', 'lena-password-01')).statusCode).toBe(403);
    const ok = await signIn(e, 'alice', 'alice-password-1');
    await e.api.inject({ method: 'DELETE', url: '/api/session', headers: { cookie: sessionCookie(ok), ...SAME_ORIGIN } });
    expect(e.audit.entries.map((a) => [a.action, a.username, a.role, a.query])).toEqual([
      ['login_failed', 'alice', undefined, { outcome: 'refused' }],
      ['login_failed', 'nobody', undefined, { outcome: 'refused' }],
      ['login_failed', 'lena', undefined, { outcome: 'locked' }],
      ['login', 'alice', 'admin', undefined],
      ['logout', 'alice', 'admin', undefined],
    ]);
    expect(e.audit.entries[0]).toMatchObject({ ip: '127.0.0.1', userAgent: 'curl/8', userId: undefined });
    expect(e.audit.entries.every((a) => typeof a.requestId === 'string' && a.requestId.length > 0)).toBe(true);
    expect(JSON.stringify(e.audit.entries)).not.toMatch(/password/);

    // the audit log refuses the row: no answer but 500, no cookie, and the session opened is ended again
    e.audit.failWith = new Error('audit table is read-only');
    const failed = await signIn(e, 'alice', 'alice-password-1');
    expect(failed.statusCode).toBe(500);
    expectErrorBody(failed, 'INTERNAL');
    expect(failed.headers['set-cookie']).toBeUndefined();
    expect(e.auth.sessions.size).toBe(0);
    expect((await signIn(e, 'alice', 'nope')).statusCode).toBe(500);
  });

  it('limits sign-in attempts per username and per address, answering 429 with Retry-After', async () => {
    const e = await edge({ loginLimits: { perIp: 5, perUsername: 2, windowMs: 60_000 }, trustProxy: true });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    expect((await signIn(e, 'alice', 'bad-1', from('198.51.100.1'))).statusCode).toBe(401);
    expect((await signIn(e, 'Alice ', 'bad-2', from('198.51.100.2'))).statusCode).toBe(401);
    // the third try at alice, from yet another address, even with the right password
    const limited = await signIn(e, 'alice', 'alice-password-1', from('198.51.100.3'));
    expect(limited.statusCode).toBe(429);
    expectErrorBody(limited, 'LOGIN_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // per address: one address trying many names
    for (let i = 0; i < 5; i++) expect((await signIn(e, `user${i}`, 'x', from('203.0.113.9'))).statusCode).toBe(401);
    expect((await signIn(e, 'victor', 'victor-password-1', from('203.0.113.9'))).statusCode).toBe(429);
    expect((await signIn(e, 'victor', 'victor-password-1', from('203.0.113.10'))).statusCode).toBe(200);
    expect(e.audit.entries.filter((a) => a.action === 'login_failed' && a.query?.outcome === 'throttled').map((a) => [a.username, a.ip])).toEqual([
      ['alice', '198.51.100.3'],
      ['victor', '203.0.113.9'],
    ]);
    // the accounts store never saw the refused attempts
    expect(e.auth.logins.map((l) => l.origin.ip)).not.toContain('198.51.100.3');
  });

  it('logs one line per request with its id, method, route, status and time, and nothing secret', async () => {
    const e = await edge();
    const ok = await signIn(e, 'alice', 'alice-password-1', { 'x-request-id': 'proxy-abc.123' });
    expect(ok.headers['x-request-id']).toBe('proxy-abc.123');
    const cookie = sessionCookie(ok);
    const token = e.auth.issueToken('alice');
    await e.api.inject({ method: 'GET', url: '/api/me', headers: { cookie, 'x-request-id': 'evil\nid {"level":60}' } });
    await e.api.inject({ method: 'GET', url: `/api/probe/files/${'b'.repeat(64)}?echostr=ECHO%2Bsecret&msg_signature=deadbeefsig`, headers: { authorization: `Bearer ${token}` } });
    const lines = e.lines.filter((l) => l.msg === 'request');
    expect(lines.map((l) => [l.method, l.route, l.status])).toEqual([
      ['POST', '/api/session', 200],
      ['GET', '/api/me', 200],
      ['GET', '/api/probe/files/:name', 200],
    ]);
    expect(lines[0]!.reqId).toBe('proxy-abc.123');
    expect(String(lines[1]!.reqId)).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines.every((l) => typeof l.ms === 'number')).toBe(true);
    const all = e.raw.join('');
    for (const secret of ['alice-password-1', cookie.split('=')[1]!, token, 'ECHO', 'deadbeefsig', 'b'.repeat(64)]) expect(all).not.toContain(secret);
  });
});
