/**
 * Every route of the OpenAPI document, as every kind of caller, on every dialect, against a real
 * server the composition root starts (real accounts, API tokens and the hash-chained audit log):
 * signed out, a viewer granted one conversation, a viewer granted a department, an auditor of one
 * corp, and an admin. Each answer has the status its role expects, and nothing in it (msgid,
 * conversation key, name, corp, media sha256) belongs to what the caller may not read.
 *
 * A route of the document without a row in CASES fails the test: a new route needs its row (one
 * row per route; a row may make several requests). Then every parameter of every route gets hostile
 * values (not UTF-8, a path out of the folder, a forged cursor, a huge number, an over-long text):
 * each is a 4xx with a JSON error and no stack trace.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GrantSpec } from '../../src/access/account-admin.ts';
import type { Role } from '../../src/access/caller.ts';
import { type ArchiveProcess, startArchiveProcess } from '../../src/app/archive-process.ts';
import { createLogger } from '../../src/app/logger.ts';
import { describeEachDialect } from '../support/databases.ts';
import { openReadArchive } from '../support/read-archive.ts';
import { A, B, CUSTOMER, NAMES, ROOM } from '../reading/reading-fixture.ts';

type Who = 'anonymous' | 'oneConversation' | 'department' | 'auditor' | 'admin';
const CALLERS: readonly Who[] = ['anonymous', 'oneConversation', 'department', 'auditor', 'admin'];

/** The fixture's conversations, with their messages. */
const SHOWN = 'pair:alice|bob';
const IT_PAIR = 'pair:bob|dave';
const EXTERNAL = `pair:alice|${CUSTOMER}`;
const GROUP = `room:${ROOM}`;
const B_PAIR = 'pair:eve|frank';
const CONVERSATIONS: Record<string, { corpid: string; key: string; msgids: string[]; people: string[] }> = {
  shown: { corpid: A, key: SHOWN, msgids: ['a00', 'a01', 'a02', 'a03', 'a04', 'a05', 'a06', 'a07', 'a08', 'a09'], people: ['alice', 'bob'] },
  it: { corpid: A, key: IT_PAIR, msgids: ['s01', 's02', 's03'], people: ['bob', 'dave'] },
  external: { corpid: A, key: EXTERNAL, msgids: ['e01', 'e02'], people: ['alice', CUSTOMER] },
  group: { corpid: A, key: GROUP, msgids: ['g01', 'g02', 'g03'], people: ['carol', 'dave', CUSTOMER, 'wbRobotHelper00000001', ROOM] },
  bPair: { corpid: B, key: B_PAIR, msgids: ['b01', 'b02'], people: ['eve', 'frank'] },
  bSame: { corpid: B, key: SHOWN, msgids: ['b03'], people: ['alice', 'bob'] },
};
/** What each caller may read, by the fixture (the IT department holds bob, carol and dave). */
const VISIBLE: Record<Who, readonly string[]> = {
  anonymous: [],
  oneConversation: ['shown'],
  department: ['shown', 'it', 'group'],
  auditor: ['bPair', 'bSame'],
  admin: Object.keys(CONVERSATIONS),
};
/** The corps a caller may know of. */
const CORPS_OF: Record<Who, readonly string[]> = { anonymous: [], oneConversation: [A], department: [A], auditor: [B], admin: [A, B] };

const enc = encodeURIComponent;

/** One request of a route's row: the URL, a body, and the status for each caller. */
interface Call {
  readonly url: string;
  readonly body?: unknown;
  readonly status: Record<Who, number>;
  /** why this answer is not checked for leaks (an operator's route with its own access rule) */
  readonly noLeakCheck?: string;
  /** a status over 400 that is an answer of the route's own shape, not an error */
  readonly notAnError?: true;
  /**
   * the route answers a browser's navigation: it refuses bad input by redirecting to the login
   * page with an error code (or drops a bad `next`), and must never redirect off this server
   */
  readonly navigation?: true;
}

/** Statuses: 401 signed out, then the same for every signed-in caller, or one each. */
const open = (status: number): Record<Who, number> => ({ anonymous: status, oneConversation: status, department: status, auditor: status, admin: status });
const signedIn = (status: number): Record<Who, number> => ({ ...open(status), anonymous: 401 });
const byRole = (s: Omit<Record<Who, number>, 'anonymous'>): Record<Who, number> => ({ anonymous: 401, ...s });
const adminOnly = (status: number): Record<Who, number> => byRole({ oneConversation: 403, department: 403, auditor: 403, admin: status });
/** A conversation's content: 200 for those who see it, the 404 of a missing one for the rest. */
const content = (conversation: string): Record<Who, number> => {
  const s = signedIn(404);
  for (const who of CALLERS) if (VISIBLE[who].includes(conversation)) s[who] = 200;
  return s;
};

/** One row per route of the document ("METHOD /path/{param}"), with media sha256s from the archive. */
function cases(media: Readonly<Record<string, string>>): Record<string, readonly Call[]> {
  const conv = (name: string) => `/api/corps/${CONVERSATIONS[name]!.corpid}/conversations/${enc(CONVERSATIONS[name]!.key)}`;
  return {
    'GET /healthz': [{ url: '/healthz', status: open(200) }],
    'GET /readyz': [{ url: '/readyz', status: open(503), notAnError: true, noLeakCheck: 'operations: no corp is being pulled here, and it names none' }],
    'GET /metrics': [{ url: '/metrics', status: open(200), noLeakCheck: 'operations: loopback or a metrics token, never a reader (src/ops/metrics-access.ts)' }],
    'GET /api/openapi.json': [{ url: '/api/openapi.json', status: open(200) }],
    'GET /api/status': [{ url: '/api/status', status: byRole({ oneConversation: 403, department: 403, auditor: 403, admin: 200 }) }],
    'POST /api/session': [{ url: '/api/session', body: { username: 'nobody', password: 'not-the-password' }, status: open(401) }],
    // callers here come with API tokens, which do not sign out
    'DELETE /api/session': [{ url: '/api/session', status: signedIn(400) }],
    'GET /api/me': [{ url: '/api/me', status: signedIn(200) }],
    'GET /api/session/methods': [{ url: '/api/session/methods', status: open(200) }],
    // no corp of the fixture has a login app: the browser is sent back to the login page with the reason
    'GET /api/session/wecom': [{ url: `/api/session/wecom?corp=${A}&next=${enc('/c/x')}`, status: open(302), navigation: true }],
    'GET /api/session/wecom/callback': [{ url: '/api/session/wecom/callback?code=c&state=s', status: open(302), navigation: true }],
    'GET /api/corps': [{ url: '/api/corps', status: signedIn(200) }],
    'GET /api/corps/{corpid}/conversations': [
      { url: `/api/corps/${A}/conversations?limit=200`, status: signedIn(200) },
      { url: `/api/corps/${B}/conversations?limit=200`, status: signedIn(200) },
    ],
    'GET /api/corps/{corpid}/conversations/{conversation}/messages': Object.keys(CONVERSATIONS).map((c) => ({ url: `${conv(c)}/messages?limit=200`, status: content(c) })),
    'GET /api/corps/{corpid}/conversations/{conversation}/media': Object.keys(CONVERSATIONS).map((c) => ({ url: `${conv(c)}/media?kind=visual`, status: content(c) })),
    // a person is seen by a whole-corp scope, or by one who shares a conversation with them
    'GET /api/corps/{corpid}/members/{userid}': [
      { url: `/api/corps/${A}/members/alice`, status: byRole({ oneConversation: 200, department: 200, auditor: 404, admin: 200 }) },
      { url: `/api/corps/${B}/members/eve`, status: byRole({ oneConversation: 404, department: 404, auditor: 200, admin: 200 }) },
    ],
    'GET /api/corps/{corpid}/customers/{externalUserid}': [
      { url: `/api/corps/${A}/customers/${CUSTOMER}`, status: byRole({ oneConversation: 404, department: 200, auditor: 404, admin: 200 }) },
    ],
    'GET /api/corps/{corpid}/conversations/{conversation}/days': ['shown', 'external', 'bPair'].map((c) => ({ url: `${conv(c)}/days?month=2026-03`, status: content(c) })),
    'GET /api/corps/{corpid}/messages/{msgid}': [
      { url: `/api/corps/${A}/messages/a03`, status: content('shown') },
      { url: `/api/corps/${A}/messages/s01`, status: content('it') },
      { url: `/api/corps/${A}/messages/e01`, status: content('external') },
      { url: `/api/corps/${B}/messages/b03`, status: content('bSame') },
    ],
    'GET /api/corps/{corpid}/messages/{msgid}/context': [
      { url: `/api/corps/${A}/messages/a01/context?n=100`, status: content('shown') },
      { url: `/api/corps/${A}/messages/g02/context?n=100`, status: content('group') },
      { url: `/api/corps/${B}/messages/b01/context?n=100`, status: content('bPair') },
    ],
    'GET /api/corps/{corpid}/members': [A, B].map((corpid) => ({ url: `/api/corps/${corpid}/members?q=a&limit=200`, status: signedIn(200) })),
    'GET /api/corps/{corpid}/customers': [{ url: `/api/corps/${A}/customers?q=${enc('张')}`, status: signedIn(200) }],
    'GET /api/corps/{corpid}/groups': [{ url: `/api/corps/${A}/groups?q=${enc('项目')}`, status: signedIn(200) }],
    'GET /api/search': [
      // 的 and 收到 are in several corps' and conversations' messages
      { url: `/api/search?q=${enc('的')}&limit=1000`, status: signedIn(200) },
      { url: `/api/search?q=${enc('收到')}&limit=1000`, status: signedIn(200) },
      { url: `/api/search?q=${enc('公司')}&corp=${B}`, status: signedIn(200) },
    ],
    // an operator's failures and what is done about them: admins only
    'GET /api/corps/{corpid}/media/failures': [{ url: `/api/corps/${A}/media/failures`, status: adminOnly(200) }],
    'POST /api/corps/{corpid}/media/retry': [{ url: `/api/corps/${A}/media/retry`, body: { state: 'expired' }, status: adminOnly(200) }],
    'GET /api/corps/{corpid}/callbacks/failures': [{ url: `/api/corps/${B}/callbacks/failures`, status: adminOnly(200) }],
    'POST /api/corps/{corpid}/callbacks/replay': [{ url: `/api/corps/${B}/callbacks/replay`, body: {}, status: adminOnly(200) }],
    'GET /api/audit': [{ url: '/api/audit?limit=200', status: byRole({ oneConversation: 403, department: 403, auditor: 200, admin: 200 }) }],
    // accounts, for admins: the admin's calls add an account of the walk's own, then change it
    'GET /api/users': [{ url: '/api/users', status: adminOnly(200) }],
    'POST /api/users': [{ url: '/api/users', body: { username: 'walk-new', role: 'viewer', password: 'walk-new-password-0123' }, status: adminOnly(201) }],
    'POST /api/users/{username}/disable': [{ url: '/api/users/walk-new/disable', body: {}, status: adminOnly(200) }],
    'POST /api/users/{username}/enable': [{ url: '/api/users/walk-new/enable', body: {}, status: adminOnly(200) }],
    'POST /api/users/{username}/grants': [{ url: '/api/users/walk-new/grants', body: { kind: 'conversation', corpid: A, conversation: SHOWN }, status: adminOnly(200) }],
    'DELETE /api/users/{username}/grants': [{ url: '/api/users/walk-new/grants', body: { kind: 'conversation', corpid: A, conversation: SHOWN }, status: adminOnly(200) }],
    'GET /api/corps/{corpid}/media/{sha256}': [
      { url: `/api/corps/${A}/media/${media.a06}`, status: content('shown') },
      { url: `/api/corps/${A}/media/${media.e02}`, status: content('external') },
      { url: `/api/corps/${B}/media/${media.b01}`, status: content('bPair') },
    ],
    // WeCom's endpoint: a request that is not signed as WeCom signs gets the same 400 from everyone
    'GET /callback/{corpid}/{app}': [{ url: `/callback/${A}/app?msg_signature=x&timestamp=1&nonce=n&echostr=e`, status: open(400) }],
    'POST /callback/{corpid}/{app}': [{ url: `/callback/${A}/app?msg_signature=x&timestamp=1&nonce=n`, body: '<xml/>', status: open(400) }],
  };
}

/** The routes that open a conversation's content or search: a viewer gives a reason there while require_reason is on. */
const NEEDS_REASON = new Set([
  'GET /api/corps/{corpid}/conversations/{conversation}/messages',
  'GET /api/corps/{corpid}/conversations/{conversation}/days',
  'GET /api/corps/{corpid}/conversations/{conversation}/media',
  'GET /api/corps/{corpid}/messages/{msgid}',
  'GET /api/corps/{corpid}/messages/{msgid}/context',
  'GET /api/corps/{corpid}/media/{sha256}',
  'GET /api/search',
]);

/** Every string and number in an answer (values, and object keys: a map keyed by msgid leaks as much). */
function valuesOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' || typeof value === 'number') out.push(String(value));
  else if (Array.isArray(value)) for (const v of value) valuesOf(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      valuesOf(v, out);
    }
  }
  return out;
}

/** Texts that must not appear in an answer to `who`: exact ones (short ids) and ones that must not appear inside any text. */
function forbiddenFor(who: Who, media: Readonly<Record<string, string>>): { exact: Set<string>; inside: Set<string> } {
  const visible = VISIBLE[who].map((c) => CONVERSATIONS[c]!);
  const hidden = Object.values(CONVERSATIONS).filter((c) => !visible.includes(c));
  const exact = new Set<string>();
  const inside = new Set<string>();
  for (const c of hidden) {
    for (const msgid of c.msgids) exact.add(msgid);
    // a key shared by a visible conversation of the other corp says nothing
    if (!visible.some((v) => v.key === c.key)) exact.add(c.key);
  }
  for (const corpid of [A, B]) if (!CORPS_OF[who].includes(corpid)) inside.add(corpid);
  // names of people (and the group) of no conversation the caller sees, per corp
  for (const corpid of [A, B]) {
    const seen = new Set(visible.filter((c) => c.corpid === corpid).flatMap((c) => c.people));
    for (const [id, name] of Object.entries(NAMES[corpid]!)) if (!seen.has(id)) inside.add(name);
  }
  for (const { msgid } of [{ msgid: 'a06' }, { msgid: 'e02' }, { msgid: 'b01' }]) if (exact.has(msgid)) inside.add(media[msgid]!);
  return { exact, inside };
}

describeEachDialect('every route as every caller', ({ open: openStore }) => {
  let dir: string;
  let process: ArchiveProcess<{ listen: { host: string; port: number } }>;
  let base: string;
  let media: Readonly<Record<string, string>>;
  const tokens: Partial<Record<Who, string>> = {};
  let settings: (on: boolean) => Promise<unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wa-walk-'));
    const store = await openStore();
    const archive = await openReadArchive(store, dir);
    media = archive.media;
    const { admin } = archive.app.access;
    const by = { username: 'route-walk' };
    const users: Array<[Who, Role, GrantSpec[]]> = [
      ['oneConversation', 'viewer', [{ kind: 'conversation', corpid: A, conversation: SHOWN }]],
      ['department', 'viewer', [{ kind: 'department', corpid: A, departmentId: 4 }]],
      ['auditor', 'auditor', [{ kind: 'corp', corpid: B }]],
      ['admin', 'admin', []],
    ];
    for (const [who, role, grants] of users) {
      await admin.addUser(by, { username: who.toLowerCase(), role, password: `${who}-password-0123`, grants });
      tokens[who] = (await admin.createToken(by, who.toLowerCase(), 'walk', undefined)).token;
    }
    settings = (on) => admin.setSetting(by, 'require_reason', on ? 'on' : 'off');
    process = await startArchiveProcess(archive.app, createLogger('silent'), {
      listen: { host: '127.0.0.1', port: 0 },
      callbacks: { handlePullNotifies: false, directory: false },
    });
    base = `http://127.0.0.1:${process.server.port}`;
  });
  afterAll(async () => {
    await process?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const call = async (method: string, url: string, who: Who, body?: unknown, headers: Record<string, string> = {}) => {
    const auth: Record<string, string> = tokens[who] ? { authorization: `Bearer ${tokens[who]}` } : {};
    const typed: Record<string, string> = body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'application/xml' : 'application/json' };
    const res = await fetch(`${base}${url}`, {
      method,
      headers: { ...auth, ...typed, ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      redirect: 'manual',
    });
    return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text(), location: res.headers.get('location') };
  };

  /** An error answer: JSON `{error, message}`, with no stack trace or source path in it. */
  const expectCleanError = (res: { status: number; type: string; text: string }, what: string) => {
    expect(res.type, what).toContain('application/json');
    const body = JSON.parse(res.text) as { error?: unknown; message?: unknown };
    expect(typeof body.error, `${what}: ${res.text}`).toBe('string');
    expect(typeof body.message, what).toBe('string');
    expect(res.text, what).not.toMatch(/\bat \S+ \(|\.ts:\d+|node_modules|\/work\//);
  };

  it('covers every route of the OpenAPI document with a row, and answers each caller with its status and nothing out of its scope', async () => {
    const doc = JSON.parse((await call('GET', '/api/openapi.json', 'anonymous')).text) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const table = cases(media);
    // a new route needs a row; a row for a route that is gone is stale
    expect(
      documented.filter((r) => !(r in table)),
      'routes without a row in CASES',
    ).toEqual([]);
    expect(
      Object.keys(table).filter((r) => !documented.includes(r)),
      'rows for routes the document does not have',
    ).toEqual([]);

    const forbidden = Object.fromEntries(CALLERS.map((who) => [who, forbiddenFor(who, media)])) as Record<Who, ReturnType<typeof forbiddenFor>>;
    let checked = 0;
    for (const [route, calls] of Object.entries(table)) {
      const method = route.split(' ')[0]!;
      for (const c of calls) {
        for (const who of CALLERS) {
          const what = `${who} ${method} ${c.url}`;
          const res = await call(method, c.url, who, c.body);
          expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBe(c.status[who]);
          if (res.status >= 400 && !c.notAnError) expectCleanError(res, what);
          if (c.noLeakCheck !== undefined || who === 'admin') continue;
          const { exact, inside } = forbidden[who];
          const texts = res.type.includes('json') ? valuesOf(JSON.parse(res.text)) : [res.text];
          for (const text of texts) {
            expect(exact.has(text), `${what} answers ${text}`).toBe(false);
            for (const word of inside) expect(text.includes(word), `${what} answers ${word} (in ${text.slice(0, 80)})`).toBe(false);
          }
          checked++;
        }
      }
    }
    // every caller got answers with content to check, not only refusals
    expect(checked).toBeGreaterThan(150);
  });

  it('answers hostile values of every parameter of every route with a 4xx JSON error and no stack trace', async () => {
    const doc = JSON.parse((await call('GET', '/api/openapi.json', 'anonymous')).text) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema?: { type?: string } }>; requestBody?: unknown }>>;
    };
    const table = cases(media);
    let sent = 0;
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(methods)) {
        const method = m.toUpperCase();
        const good = table[`${method} ${path}`]![0]!;
        const url = new URL(good.url, base);
        const template = path.split('/');
        const goodSegments = url.pathname.split('/');
        for (const param of op.parameters ?? []) {
          const hostile =
            param.in === 'path'
              ? // (a bare `..` or `%2E%2E` segment never reaches the server: fetch resolves it as URLs do)
                ['%FF', '%C0%AE%C0%AE', '..%2F..%2Fetc%2Fpasswd', '..%5C..%5Cwin.ini', 'x'.repeat(300), '%00']
              : ['%FF', ...(param.schema?.type === 'integer' ? ['99999999999999999999', '-1', 'abc'] : ['bm90IGEgY3Vyc29y', 'x'.repeat(5000)]), '%00'];
          for (const value of hostile) {
            let target: string;
            if (param.in === 'path') {
              const segments = goodSegments.slice();
              segments[template.indexOf(`{${param.name}}`)] = value;
              target = segments.join('/') + url.search;
            } else {
              const query = url.search
                .replace(/^\?/, '')
                .split('&')
                .filter((kv) => kv !== '' && !kv.startsWith(`${param.name}=`));
              target = `${url.pathname}?${[...query, `${param.name}=${value}`].join('&')}`;
            }
            const res = await call(method, target, 'admin', good.body);
            const what = `${method} ${path} ${param.in} ${param.name}=${value.slice(0, 40)}`;
            // free text is free: a forged cursor in `q` is just text to look for
            if (res.status === 200 && !value.startsWith('%') && param.in === 'query' && param.schema?.type !== 'integer') continue;
            // a browser's navigation is refused by a redirect back into this server, never out of it
            if (good.navigation && res.status === 302) {
              expect(res.location, what).toMatch(/^\/(?!\/)/);
              sent++;
              continue;
            }
            expect(res.status, `${what}: ${res.text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
            expect(res.status, what).toBeLessThan(500);
            expectCleanError(res, what);
            sent++;
          }
        }
        if (op.requestBody !== undefined && !path.startsWith('/callback/')) {
          for (const body of ['{"username": "a", "password": ', '[]', JSON.stringify({ username: 'a', password: 'p'.repeat(5000) }), JSON.stringify({ username: 1 })]) {
            // as an admin, so a route for admins reads the body rather than refusing the caller first
            const res = await fetch(`${base}${url.pathname}`, { method, headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}` }, body });
            const text = await res.text();
            expect(res.status, `${method} ${path} ${body.slice(0, 40)}: ${text}`).toBe(400);
            expectCleanError({ status: res.status, type: res.headers.get('content-type') ?? '', text }, `${method} ${path} body`);
            sent++;
          }
        }
      }
    }
    expect(sent).toBeGreaterThan(100);
  });

  it('asks the viewer for a reason on exactly the routes that open content while require_reason is on', async () => {
    const table = cases(media);
    await settings(true);
    try {
      for (const [route, calls] of Object.entries(table)) {
        const method = route.split(' ')[0]!;
        const c = calls.find((one) => one.status.oneConversation === 200);
        if (!c) continue;
        const without = await call(method, c.url, 'oneConversation', c.body);
        expect(without.status, `${route}: ${without.text.slice(0, 200)}`).toBe(NEEDS_REASON.has(route) ? 428 : 200);
        if (!NEEDS_REASON.has(route)) continue;
        expect(JSON.parse(without.text).error).toBe('REASON_REQUIRED');
        expect((await call(method, c.url, 'oneConversation', c.body, { 'x-access-reason': encodeURIComponent('复核 #7') })).status, route).toBe(200);
        // an admin is not asked
        expect((await call(method, c.url, 'admin', c.body)).status, route).toBe(200);
      }
    } finally {
      await settings(false);
    }
  });
});
