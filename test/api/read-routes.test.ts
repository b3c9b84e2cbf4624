/**
 * The read routes on every dialect, through Fastify's inject: each answers an admin, answers a
 * viewer limited to one conversation with that conversation only (anything else is the 404 of a
 * missing one, search finds nothing else), refuses a signed-out caller, writes one audit row per
 * read before it answers (a refused row fails the request with nothing returned), and answers
 * hostile parameters with a 400 in JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AuditLog } from '../../src/access/audit-log.ts';
import { EVERYTHING, type ReadScope } from '../../src/access/read-scope.ts';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { createLogger } from '../../src/app/logger.ts';
import { peopleMatching } from '../../src/directory/people-lookup.ts';
import { listConversations } from '../../src/reading/conversation-list.ts';
import { conversationDays, conversationMessages, messageById, messageContext } from '../../src/reading/message-pages.ts';
import { parseSearchQuery } from '../../src/search/query.ts';
import { countMatches } from '../../src/search/search-messages.ts';
import type { Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { RecordingAudit } from '../support/fake-access.ts';
import { TokenCallers, tokenCaller } from '../support/token-callers.ts';
import { A, B, ROOM } from '../reading/reading-fixture.ts';
import { openReadArchive } from '../support/read-archive.ts';

const SHOWN = 'pair:alice|bob';
const HIDDEN = 'pair:bob|dave';

const caller = tokenCaller;
const viewerScope: ReadScope = { kind: 'limited', corps: [], departments: [], conversations: [{ corpid: A, conversation: SHOWN }] };

describeEachDialect('read routes', ({ open }) => {
  let store: Store;
  let api: ApiInstance;
  let audit: RecordingAudit;
  let dir: string | undefined;

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    store = await open();
    dir = await mkdtemp(join(tmpdir(), 'wa-read-'));
    const { app } = await openReadArchive(store, dir);
    audit = new RecordingAudit(new AuditLog(store.db));
    const authenticator = new TokenCallers({
      admin: caller(1, 'root', 'admin', EVERYTHING),
      viewer: caller(2, 'vera', 'viewer', viewerScope),
      auditor: caller(3, 'otto', 'auditor', { kind: 'limited', corps: [B], departments: [], conversations: [] }),
      // corp A's department 4 (IT): bob, carol and dave
      it: caller(4, 'ida', 'viewer', { kind: 'limited', corps: [], departments: [{ corpid: A, departmentId: 4 }], conversations: [] }),
    });
    api = await buildApi(app, createLogger('silent'), { access: { authenticator, audit } });
  });

  const get = async (url: string, who?: string) => {
    const res = await api.inject({ method: 'GET', url, headers: who ? { authorization: `Bearer ${who}` } : {} });
    return { status: res.statusCode, body: res.json() as Record<string, any>, text: res.body };
  };
  /** GET as `who`; expects 200 and exactly one new audit row, with this action and item count. */
  const read = async (url: string, who: string, action: string, items?: number) => {
    const before = audit.entries.length;
    const res = await get(url, who);
    expect(res.status, `${url}: ${res.text}`).toBe(200);
    expect(audit.entries.length - before, url).toBe(1);
    const row = audit.entries[audit.entries.length - 1]!;
    expect(row.action).toBe(action);
    expect(row.username).toBe({ admin: 'root', viewer: 'vera', auditor: 'otto', it: 'ida' }[who]);
    if (items !== undefined) expect(row.items, url).toBe(items);
    return { ...res, row };
  };
  const enc = encodeURIComponent;

  it('answers an admin on every route, with one audit row per read', async () => {
    const corps = await read('/api/corps', 'admin', 'corps.list');
    expect(corps.body.corps.map((c: { corpid: string }) => c.corpid).sort()).toEqual([A, B].sort());
    expect(corps.row.items).toBe(2);

    const list = await read(`/api/corps/${A}/conversations?limit=200`, 'admin', 'conversations.list');
    const keys = list.body.conversations.map((c: { conversation: string }) => c.conversation);
    expect(keys).toContain(SHOWN);
    expect(keys).toContain(HIDDEN);
    expect(list.row).toMatchObject({ corpid: A, items: keys.length, query: { limit: 200 } });

    // the key's `:` and `|` percent-encoded in the path reach the route decoded
    const page = await read(`/api/corps/${A}/conversations/${enc(SHOWN)}/messages?limit=3`, 'admin', 'messages.read', 3);
    expect(page.body.conversation).toBe(SHOWN);
    expect(page.body.messages.map((m: { msgid: string }) => m.msgid)).toEqual(['a07', 'a08', 'a09']);
    expect(typeof page.body.messages[0].seq).toBe('string');
    expect(page.row.conversation).toBe(SHOWN);
    const older = await read(`/api/corps/${A}/conversations/${enc(SHOWN)}/messages?limit=3&before=${page.body.before}`, 'admin', 'messages.read', 3);
    expect(older.body.messages.map((m: { msgid: string }) => m.msgid)).toEqual(['a04', 'a05', 'a06']);
    expect(older.row.query).toEqual({ limit: 3 });

    const days = await read(`/api/corps/${A}/conversations/${enc(SHOWN)}/days?month=2026-03`, 'admin', 'days.read');
    expect(days.body.days).toEqual(['2026-03-01', '2026-03-02', '2026-03-04']);
    expect(days.row.items).toBe(3);

    const one = await read(`/api/corps/${A}/messages/a02`, 'admin', 'message.read', 1);
    expect(JSON.parse(one.body.raw).text.content).toBe('今天开会吗');
    expect(one.row.conversation).toBe(SHOWN);
    const context = await read(`/api/corps/${A}/messages/a02/context?n=1`, 'admin', 'messages.read', 3);
    expect(context.body.messages.map((m: { msgid: string }) => m.msgid)).toEqual(['a01', 'a02', 'a03']);

    const members = await read(`/api/corps/${A}/members?q=${enc('鲍勃')}`, 'admin', 'directory.read', 1);
    expect(members.body.people).toMatchObject([{ kind: 'member', id: 'bob' }]);
    await read(`/api/corps/${A}/customers?q=${enc('张三')}`, 'admin', 'directory.read', 1);
    await read(`/api/corps/${A}/groups?q=${enc('项目')}`, 'admin', 'directory.read', 1);

    const search = await read(`/api/search?q=${enc('乙公司')}`, 'admin', 'search');
    expect(search.body.hits.map((h: { msgid: string }) => h.msgid).sort()).toEqual(['b01', 'b02', 'b03']);
    expect(search.body.hits.find((h: { msgid: string }) => h.msgid === 'b01')).toMatchObject({
      corpid: B,
      from: 'eve',
      from_name: '伊芙',
      conversation: 'pair:eve|frank',
      conversation_name: null,
      conversation_people: [
        { id: 'eve', name: '伊芙', kind: 'member' },
        { id: 'frank', name: '弗兰克', kind: 'member' },
      ],
    });
    // a group's hit carries the group's name from the directory, and no people
    const group = await read(`/api/search?q=${enc('项目启动')}&corp=${A}`, 'admin', 'search');
    expect(group.body.hits).toMatchObject([{ msgid: 'g01', conversation: `room:${ROOM}`, conversation_name: '项目协作群', conversation_people: [] }]);
    expect(search.row).toMatchObject({ items: 3, query: { q: '乙公司' } });

    const auditRows = await read('/api/audit?limit=200', 'admin', 'audit.read');
    expect(auditRows.body.rows.length).toBeGreaterThan(10);
    expect(auditRows.row.items).toBe(auditRows.body.rows.length);
  });

  it('answers with every field the read functions give: the response schemas drop nothing', async () => {
    const plain = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
    const scope = EVERYTHING;
    const { db, dialect } = store;
    // the fixture has an image (a media view), a quote with its target, a recall and its revoke, and external and group chats
    const conversations = await listConversations(db, dialect, scope, A, { limit: 200 });
    expect((await get(`/api/corps/${A}/conversations?limit=200`, 'admin')).body).toEqual(plain(conversations));
    for (const { conversation } of conversations.conversations) {
      const page = await conversationMessages(db, dialect, scope, A, conversation, { limit: 200 });
      expect((await get(`/api/corps/${A}/conversations/${enc(conversation)}/messages?limit=200`, 'admin')).body, conversation).toEqual(plain(page));
    }
    expect((await get(`/api/corps/${A}/messages/a03`, 'admin')).body).toEqual(plain(await messageById(db, dialect, scope, A, 'a03')));
    expect((await get(`/api/corps/${A}/messages/a03/context?n=5`, 'admin')).body).toEqual(plain(await messageContext(db, dialect, scope, A, 'a03', 5)));
    expect((await get(`/api/corps/${A}/conversations/${enc(SHOWN)}/days?month=2026-03`, 'admin')).body).toEqual(
      plain(await conversationDays(db, dialect, scope, A, SHOWN, '2026-03')),
    );
    const people = await peopleMatching(db, scope, A, 'a');
    expect((await get(`/api/corps/${A}/members?q=a`, 'admin')).body.people).toEqual(plain(people.people.filter((p) => p.kind === 'member')));
    const hits = (await get(`/api/search?q=${enc('开会')}`, 'admin')).body.hits as Array<Record<string, unknown>>;
    expect(Object.keys(hits[0]!).sort()).toEqual([
      'conversation',
      'conversation_name',
      'conversation_people',
      'corpid',
      'from',
      'from_name',
      'msgid',
      'msgtime',
      'msgtype',
      'roomid',
      'seq',
      'snippet',
    ]);
    expect(hits[0]!.snippet).toMatchObject({ field: expect.any(Number), text: expect.any(String), ranges: [[expect.any(Number), expect.any(Number)]] });
    const rows = (await get('/api/audit?limit=1', 'admin')).body.rows as Array<Record<string, unknown>>;
    expect(Object.keys(rows[0]!).sort()).toEqual(
      ['action', 'at', 'conversation', 'corpid', 'hash', 'id', 'ip', 'items', 'prev_hash', 'query', 'reason', 'request_id', 'role', 'user_agent', 'user_id', 'username'].sort(),
    );
  });

  it('answers a viewer of one conversation with that conversation only; the rest is the 404 of a missing one', async () => {
    const corps = await read('/api/corps', 'viewer', 'corps.list', 1);
    expect(corps.body.corps.map((c: { corpid: string }) => c.corpid)).toEqual([A]);
    const list = await read(`/api/corps/${A}/conversations`, 'viewer', 'conversations.list', 1);
    expect(list.body.conversations.map((c: { conversation: string }) => c.conversation)).toEqual([SHOWN]);
    expect((await read(`/api/corps/${B}/conversations`, 'viewer', 'conversations.list', 0)).body.conversations).toEqual([]);
    await read(`/api/corps/${A}/conversations/${enc(SHOWN)}/messages`, 'viewer', 'messages.read', 10);
    await read(`/api/corps/${A}/messages/a01`, 'viewer', 'message.read', 1);

    const before = audit.entries.length;
    const hiddenPage = await get(`/api/corps/${A}/conversations/${enc(HIDDEN)}/messages`, 'viewer');
    const missingPage = await get(`/api/corps/${A}/conversations/${enc('pair:nobody|none')}/messages`, 'viewer');
    expect(hiddenPage.status).toBe(404);
    expect(hiddenPage.body).toEqual(missingPage.body);
    expect((await get(`/api/corps/${A}/conversations/${enc(HIDDEN)}/days?month=2026-03`, 'viewer')).body).toEqual(missingPage.body);
    const hiddenMessage = await get(`/api/corps/${A}/messages/s01`, 'viewer');
    expect(hiddenMessage.status).toBe(404);
    expect(hiddenMessage.body).toEqual((await get(`/api/corps/${A}/messages/nope`, 'viewer')).body);
    expect((await get(`/api/corps/${A}/messages/s01/context`, 'viewer')).body).toEqual(hiddenMessage.body);
    // an answer that returns nothing read writes no row
    expect(audit.entries.length).toBe(before);

    // search: hits only in scope, for text that is in and out of it
    expect((await read(`/api/search?q=${enc('乙公司')}`, 'viewer', 'search', 0)).body.hits).toEqual([]);
    expect((await read(`/api/search?q=${enc('周报')}&corp=${A}`, 'viewer', 'search', 0)).body.hits).toEqual([]);
    const meeting = await read(`/api/search?q=${enc('开会')}`, 'viewer', 'search');
    expect(meeting.body.hits.map((h: { msgid: string }) => h.msgid).sort()).toEqual(['a02', 'a03']);
    expect((await read(`/api/search?q=${enc('开会')}`, 'admin', 'search')).body.hits.length).toBe(2);

    // the directory is for callers who see the whole corp
    expect((await read(`/api/corps/${A}/members?q=${enc('鲍勃')}`, 'viewer', 'directory.read', 0)).body.people).toEqual([]);
    // the audit log is for admins and auditors
    expect((await get('/api/audit', 'viewer')).status).toBe(403);
  });

  it('searches within a whole corp or a department as the scope grants, and counts within it', async () => {
    const found = async (who: string, q: string) => ((await read(`/api/search?q=${enc(q)}`, who, 'search')).body.hits as Array<{ msgid: string }>).map((h) => h.msgid).sort();
    expect(await found('auditor', '乙公司')).toEqual(['b01', 'b02', 'b03']);
    expect(await found('auditor', '开会')).toEqual([]);
    // bob, carol and dave are in IT: their pair conversations and the group; alice's pair with bob too, as bob takes part
    expect(await found('it', '周报')).toEqual(['s03']);
    expect(await found('it', '收到')).toEqual(['a07', 'g03']);
    expect(await found('it', '乙公司')).toEqual([]);
    const meeting = parseSearchQuery('开会');
    expect(await countMatches(store.db, store.dialect, viewerScope, meeting)).toEqual({ count: 2, atLeast: false });
    expect(await countMatches(store.db, store.dialect, { kind: 'limited', corps: [B], departments: [], conversations: [] }, meeting)).toEqual({ count: 0, atLeast: false });
    const company = parseSearchQuery('乙公司');
    expect(await countMatches(store.db, store.dialect, EVERYTHING, company)).toEqual({ count: 3, atLeast: false });
    expect(await countMatches(store.db, store.dialect, viewerScope, company)).toEqual({ count: 0, atLeast: false });
    // the count asked with a page counts within the caller's scope as well, on a page of one hit
    const counted = await read(`/api/search?q=${enc('乙公司')}&count=true&limit=1`, 'auditor', 'search', 1);
    expect(counted.body.count).toEqual({ n: 3, atLeast: false });
    expect((await read(`/api/search?q=${enc('收到')}&count=true`, 'it', 'search', 2)).body.count).toEqual({ n: 2, atLeast: false });
    expect((await read(`/api/search?q=${enc('乙公司')}&count=true`, 'it', 'search', 0)).body.count).toEqual({ n: 0, atLeast: false });
    // not asked, not given
    expect((await read(`/api/search?q=${enc('乙公司')}`, 'auditor', 'search')).body).not.toHaveProperty('count');
  });

  it('filters search by sender given as an id or a name, looked up among the people the caller may see', async () => {
    const msgids = (body: Record<string, any>) => (body.hits as Array<{ msgid: string }>).map((h) => h.msgid).sort();
    // 开会 is in a02 (from bob) and a03 (from alice, quoting bob)
    for (const from of ['bob', '鲍勃']) {
      const res = await read(`/api/search?q=${enc('开会')}&corp=${A}&from=${enc(from)}`, 'admin', 'search', 1);
      expect(msgids(res.body), from).toEqual(['a02']);
      expect(res.body.senders).toEqual([{ id: 'bob', name: '鲍勃' }]);
      expect(res.row.query).toMatchObject({ from });
    }
    expect(msgids((await read(`/api/search?q=${enc('开会 from:爱丽丝')}&corp=${A}`, 'admin', 'search')).body)).toEqual(['a03']);
    // a sender is looked up in one corp
    const noCorp = await get(`/api/search?q=${enc('开会')}&from=bob`, 'admin');
    expect(noCorp.status).toBe(400);
    expect(noCorp.body.error).toBe('SEARCH_FILTERS_INVALID');

    // a viewer of alice|bob finds bob by name, as the admin does
    const viewer = await read(`/api/search?q=${enc('开会')}&corp=${A}&from=${enc('鲍勃')}`, 'viewer', 'search', 1);
    expect(msgids(viewer.body)).toEqual(['a02']);
    expect(viewer.body.senders).toEqual([{ id: 'bob', name: '鲍勃' }]);
    // dave is in the corp's directory but in none of the viewer's conversations: the answer is that of a name nobody has
    expect((await get(`/api/search?q=${enc('好的')}&corp=${A}&from=${enc('戴夫')}`, 'admin')).status).toBe(200);
    const before = audit.entries.length;
    const outside = await get(`/api/search?q=${enc('好的')}&corp=${A}&from=${enc('戴夫')}`, 'viewer');
    const nobody = await get(`/api/search?q=${enc('好的')}&corp=${A}&from=${enc('无名氏')}`, 'viewer');
    expect(outside.status).toBe(400);
    expect(outside.body.error).toBe('SEARCH_FROM_UNKNOWN');
    expect(outside.body.message.replace('戴夫', 'X')).toBe(nobody.body.message.replace('无名氏', 'X'));
    expect(outside.text).not.toContain('dave');
    for (const from of ['dave', '伊芙'])
      expect((await get(`/api/search?q=${enc('好的')}&corp=${A}&from=${from === 'dave' ? from : enc(from)}`, 'viewer')).body.error).toBe('SEARCH_FROM_UNKNOWN');
    expect((await get(`/api/search?q=${enc('乙公司')}&corp=${B}&from=eve`, 'viewer')).body.error).toBe('SEARCH_FROM_UNKNOWN');
    expect(audit.entries.length).toBe(before);
    // the IT department's viewer sees dave's conversations, so finds him by name
    expect(msgids((await read(`/api/search?q=${enc('好的')}&corp=${A}&from=${enc('戴夫')}`, 'it', 'search', 1)).body)).toEqual(['s02']);
  });

  it('gives an auditor the audit rows of its corps only', async () => {
    await read(`/api/corps/${B}/conversations`, 'auditor', 'conversations.list');
    await read(`/api/corps/${B}/conversations?kind=single`, 'auditor', 'conversations.list');
    const rows = (await read('/api/audit?limit=200', 'auditor', 'audit.read')).body.rows as Array<{ corpid: string | null }>;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.corpid === B)).toBe(true);
    const first = await read(`/api/audit?limit=1&user=otto`, 'auditor', 'audit.read', 1);
    const second = await read(`/api/audit?limit=1&user=otto&after=${first.body.next}`, 'auditor', 'audit.read');
    expect(second.body.rows[0].id).toBeGreaterThan(first.body.rows[0].id);
    expect(second.body.rows[0]).toMatchObject({ username: 'otto', corpid: B });
  });

  it('refuses signed-out callers, and fails a read whose audit row is refused, returning nothing', async () => {
    const urls = [
      '/api/corps',
      `/api/corps/${A}/conversations`,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/messages`,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/days?month=2026-03`,
      `/api/corps/${A}/messages/a01`,
      `/api/corps/${A}/messages/a01/context`,
      `/api/corps/${A}/members?q=bob`,
      `/api/search?q=${enc('早上好')}`,
      '/api/audit',
    ];
    for (const url of urls) expect((await get(url)).status, url).toBe(401);
    audit.failWith = new Error('the audit log refused the row');
    try {
      for (const url of urls) {
        const res = await get(url, 'admin');
        expect(res.status, url).toBe(500);
        expect(res.body).toEqual({ error: 'INTERNAL', message: 'internal error' });
      }
    } finally {
      audit.failWith = undefined;
    }
  });

  it('answers hostile parameters with 400 in JSON', async () => {
    const bad = [
      `/api/corps/${A}/conversations?before=bm90IGEgY3Vyc29y`,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/messages?before=bm90IGEgY3Vyc29y`,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/messages?after=!!`,
      `/api/search?q=x&after=bm90IGEgY3Vyc29y`,
      `/api/corps/${A}/conversations?limit=100000`,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/messages?limit=100000`,
      `/api/search?q=x&limit=100000`,
      `/api/corps/${A}/members?q=bob&limit=100000`,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/days?month=2026-13`,
      `/api/corps/${A}/conversations?q=%FF`,
      `/api/corps/${A}/messages/%FF%FE`,
      `/api/corps/${A}/conversations/pair%3A%FF/messages`,
      `/api/search?q=%FF`,
      `/api/corps/${A}/conversations?unknown=1`,
      `/api/corps/${A}/messages/a01/context?n=1000`,
    ];
    for (const url of bad) {
      const res = await get(url, 'admin');
      expect(res.status, `${url}: ${res.text}`).toBe(400);
      expect(typeof res.body.error, url).toBe('string');
    }
  });

  it('asks a viewer for a reason before it opens a conversation or searches while require_reason is on, and keeps the reason in the audit row', async () => {
    const app = appWithEnv(store);
    const withReason = async (url: string, who: string, reason: string | undefined) => {
      const res = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${who}`, ...(reason === undefined ? {} : { 'x-access-reason': reason }) } });
      return { status: res.statusCode, body: res.json() as Record<string, any> };
    };
    const messages = `/api/corps/${A}/conversations/${enc(SHOWN)}/messages`;
    const gated = [
      messages,
      `/api/corps/${A}/conversations/${enc(SHOWN)}/days?month=2026-03`,
      `/api/corps/${A}/messages/a01`,
      `/api/corps/${A}/messages/a01/context`,
      `/api/search?q=${enc('开会')}`,
    ];
    expect((await withReason('/api/me', 'viewer', undefined)).body).toEqual({ user: { username: 'vera', role: 'viewer' }, reasonRequired: false, watermark: true });
    await app.access.admin.setSetting({ username: 'tester' }, 'require_reason', 'on');
    try {
      expect((await withReason('/api/me', 'viewer', undefined)).body.reasonRequired).toBe(true);
      expect((await withReason('/api/me', 'admin', undefined)).body.reasonRequired).toBe(false);
      expect((await withReason('/api/me', 'auditor', undefined)).body.reasonRequired).toBe(false);

      const before = audit.entries.length;
      for (const url of gated) {
        const refused = await withReason(url, 'viewer', undefined);
        expect(refused.status, url).toBe(428);
        expect(refused.body.error, url).toBe('REASON_REQUIRED');
      }
      // refused reads return nothing and write no row
      expect(audit.entries.length).toBe(before);
      // the list of conversations and the corps are no conversation's content
      expect((await withReason(`/api/corps/${A}/conversations`, 'viewer', undefined)).status).toBe(200);
      expect((await withReason('/api/corps', 'viewer', undefined)).status).toBe(200);

      const reason = '案件 #2026-17 复核 (legal hold)';
      for (const url of gated) {
        const shown = await withReason(url, 'viewer', encodeURIComponent(`  ${reason} `));
        expect(shown.status, url).toBe(200);
        expect(audit.entries.at(-1)).toMatchObject({ username: 'vera', reason });
      }
      // admins and auditors are not asked; a reason they give is kept all the same
      expect((await withReason(messages, 'admin', undefined)).status).toBe(200);
      expect(audit.entries.at(-1)!.reason).toBeUndefined();
      expect((await withReason(`/api/corps/${B}/conversations/${enc('pair:eve|frank')}/messages`, 'auditor', undefined)).status).toBe(200);
      expect((await withReason(messages, 'admin', encodeURIComponent('工单 42'))).status).toBe(200);
      expect(audit.entries.at(-1)).toMatchObject({ username: 'root', reason: '工单 42' });

      // malformed reasons: 400 for anyone, before anything is read
      const malformed = [
        '%FF',
        '%E6%A1',
        encodeURIComponent('   '),
        encodeURIComponent('a\u0007b'),
        encodeURIComponent('a\nb'),
        encodeURIComponent('x'.repeat(201)),
        'a b',
        '案件',
      ];
      const rows = audit.entries.length;
      for (const bad of malformed) {
        for (const who of ['viewer', 'admin']) {
          const res = await api.inject({ method: 'GET', url: messages, headers: { authorization: `Bearer ${who}`, 'x-access-reason': bad } });
          expect(res.statusCode, `${who} ${bad}`).toBe(400);
          expect(res.json(), bad).toMatchObject({ error: 'REASON_INVALID' });
        }
      }
      expect(audit.entries.length).toBe(rows);
      // 200 characters of Chinese (600 bytes of UTF-8) is a reason
      expect((await withReason(messages, 'viewer', encodeURIComponent('因'.repeat(200)))).status).toBe(200);

      // the audit log shows the reason to whoever reads it
      const logged = await get('/api/audit?user=vera&action=messages.read&limit=200', 'admin');
      expect(logged.body.rows.map((r: { reason: string | null }) => r.reason)).toContain(reason);
    } finally {
      await app.access.admin.setSetting({ username: 'tester' }, 'require_reason', 'off');
    }
    expect((await withReason(messages, 'viewer', undefined)).status).toBe(200);
  });
});
