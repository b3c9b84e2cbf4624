/**
 * The gallery route and the person routes on every dialect, through Fastify's inject: the gallery's
 * four tabs hold the right items newest first with keyset pages that neither skip nor repeat (a mixed
 * message gives one item per image), a viewer of one conversation sees that conversation's gallery and
 * the people in it only (the rest answers exactly like a missing one and writes no audit row), every
 * read writes its audit row, and forged cursors or kinds are 400s.
 */
import { beforeAll, expect, it } from 'vitest';
import { AuditLog } from '../../src/access/audit-log.ts';
import { EVERYTHING, type ReadScope } from '../../src/access/read-scope.ts';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { createLogger } from '../../src/app/logger.ts';
import type { Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { RecordingAudit } from '../support/fake-access.ts';
import { TokenCallers, tokenCaller } from '../support/token-callers.ts';
import { A, B, CUSTOMER, T0, fixtureRows, loadFixture, rowOf } from '../reading/reading-fixture.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

const SHOWN = 'pair:alice|bob';
const HIDDEN = 'pair:bob|dave';
const MIN = 60_000;
const at = (minutes: number) => T0 + 3 * 24 * 60 * MIN + minutes * MIN;

/** Gallery messages in SHOWN (alice and bob), and one image in HIDDEN, stored after the reading fixture. */
function galleryMessages() {
  const send = (msgid: string, from: string, to: string, minutes: number, msgtype: string, body: Record<string, unknown>) => ({
    corpid: A,
    msgid,
    json: { msgid, action: 'send', from, tolist: [to], roomid: '', msgtime: at(minutes), msgtype, [msgtype]: body },
  });
  const image = (id: string) => ({ md5sum: 'c4ca4238a0b923820dcc509a6f75849b', filesize: 100, sdkfileid: id });
  return [
    send('v01', 'alice', 'bob', 1, 'image', image('sdkV01')),
    send('v02', 'bob', 'alice', 2, 'video', { md5sum: 'c4ca4238a0b923820dcc509a6f75849b', filesize: 900, play_length: 3, sdkfileid: 'sdkV02' }),
    send('v03', 'alice', 'bob', 3, 'mixed', {
      item: [
        { type: 'text', content: JSON.stringify({ content: '两张图' }) },
        { type: 'image', content: JSON.stringify(image('sdkV03a')) },
        { type: 'image', content: JSON.stringify(image('sdkV03b')) },
      ],
    }),
    send('f01', 'bob', 'alice', 4, 'file', { md5sum: 'c4ca4238a0b923820dcc509a6f75849b', filename: '报价单.pdf', fileext: 'pdf', filesize: 2048, sdkfileid: 'sdkF01' }),
    send('l01', 'alice', 'bob', 5, 'link', { title: '产品介绍', description: '<b>not html</b>', link_url: 'https://example.com/a b', image_url: 'https://example.com/i.png' }),
    send('l02', 'bob', 'alice', 6, 'link', { title: '第二个链接', description: '', link_url: 'https://example.com/2' }),
    send('w01', 'bob', 'alice', 7, 'voice', { md5sum: 'c4ca4238a0b923820dcc509a6f75849b', voice_size: 400, play_length: 2, sdkfileid: 'sdkW01' }),
    send('h01', 'bob', 'dave', 8, 'image', image('sdkH01')),
  ];
}

const caller = tokenCaller;

describeEachDialect('gallery and person routes', ({ open }) => {
  let store: Store;
  let api: ApiInstance;
  let audit: RecordingAudit;

  beforeAll(async () => {
    store = await open();
    const app = appWithEnv(store);
    for (const corpid of [A, B]) {
      await addOfflineCorp(app, corpid);
    }
    const rows = await fixtureRows(0);
    const extra = galleryMessages().map((m, i) => rowOf(m, BigInt(3000 + i)));
    await loadFixture(store, [...rows, ...extra]);
    // v01 downloaded, the rest as ingest left them (pending)
    await store.db
      .updateTable('media')
      .set({ state: 'done', sha256: 'a'.repeat(64), size: 100, content_type: 'image/png' })
      .where('corpid', '=', A)
      .where('msgid', '=', 'v01')
      .execute();
    await store.db
      .insertInto('dir_consent')
      .values([
        { corpid: A, scope: 'single', scope_id: 'alice', external_id: CUSTOMER, status: 'Agree', status_change_time: T0, source: 'api', checked_at: T0 },
        { corpid: A, scope: 'single', scope_id: 'dave', external_id: CUSTOMER, status: 'Disagree', status_change_time: T0, source: 'api', checked_at: T0 },
      ])
      .execute();
    audit = new RecordingAudit(new AuditLog(store.db));
    const viewerScope: ReadScope = { kind: 'limited', corps: [], departments: [], conversations: [{ corpid: A, conversation: SHOWN }] };
    const customerViewer: ReadScope = { kind: 'limited', corps: [], departments: [], conversations: [{ corpid: A, conversation: `pair:alice|${CUSTOMER}` }] };
    const authenticator = new TokenCallers({
      admin: caller(1, 'root', 'admin', EVERYTHING),
      viewer: caller(2, 'vera', 'viewer', viewerScope),
      cv: caller(3, 'cora', 'viewer', customerViewer),
    });
    api = await buildApi(app, createLogger('silent'), { access: { authenticator, audit } });
  });

  const enc = encodeURIComponent;
  const get = async (url: string, who: string) => {
    const before = audit.entries.length;
    const res = await api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${who}` } });
    return { status: res.statusCode, body: res.json() as Record<string, any>, rows: audit.entries.slice(before) };
  };
  const gallery = (conversation: string, query: string, who = 'admin') => get(`/api/corps/${A}/conversations/${enc(conversation)}/media?${query}`, who);
  const ids = (body: Record<string, any>) => body.items.map((i: { msgid: string; media: { slot: number } | null }) => (i.media ? `${i.msgid}/${i.media.slot}` : i.msgid));

  it('lists each tab newest first, in keyset pages that neither skip nor repeat', async () => {
    const visual = await gallery(SHOWN, 'kind=visual&limit=2');
    expect(visual.status).toBe(200);
    // a06 is the reading fixture's own image, three days earlier
    expect(ids(visual.body)).toEqual(['v03/1', 'v03/0']);
    expect(visual.rows).toMatchObject([{ action: 'gallery.read', corpid: A, conversation: SHOWN, items: 2 }]);
    const second = await gallery(SHOWN, `kind=visual&limit=2&before=${visual.body.next}`);
    expect(ids(second.body)).toEqual(['v02/0', 'v01/0']);
    const third = await gallery(SHOWN, `kind=visual&limit=2&before=${second.body.next}`);
    expect(ids(third.body)).toEqual(['a06/0']);
    expect(third.body.next).toBeNull();

    const first = visual.body.items[0];
    expect(typeof first.seq).toBe('string');
    expect(first.from).toEqual({ id: 'alice', name: '爱丽丝', kind: 'member' });
    const v01 = second.body.items[1];
    expect(v01.media).toMatchObject({ kind: 'image', state: 'done', sha256: 'a'.repeat(64), size: 100 });
    expect(second.body.items[0].media).toMatchObject({ kind: 'video', state: 'pending', sha256: null, size: 900 });

    const files = await gallery(SHOWN, 'kind=file');
    expect(files.body.items.map((i: any) => [i.msgid, i.media.fileName, i.media.size])).toEqual([['f01', '报价单.pdf', 2048]]);
    const voice = await gallery(SHOWN, 'kind=voice');
    expect(ids(voice.body)).toEqual(['w01/0']);

    const links = await gallery(SHOWN, 'kind=link&limit=1');
    expect(links.body.items).toMatchObject([{ msgid: 'l02', media: null, link: { title: '第二个链接', description: null, url: 'https://example.com/2' } }]);
    const older = await gallery(SHOWN, `kind=link&limit=1&before=${links.body.next}`);
    expect(older.body.items).toMatchObject([{ msgid: 'l01', link: { title: '产品介绍', description: '<b>not html</b>', url: 'https://example.com/a b' } }]);
    expect(older.body.next).toBeNull();

    // an empty tab of another conversation
    expect((await gallery('pair:bob|dave', 'kind=file')).body).toEqual({ conversation: HIDDEN, kind: 'file', items: [], next: null });
  });

  it('answers a viewer of one conversation with its gallery only; another is the 404 of a missing one, with no audit row', async () => {
    const own = await gallery(SHOWN, 'kind=visual', 'viewer');
    expect(own.status).toBe(200);
    expect(own.body.items).toHaveLength(5);
    const hidden = await gallery(HIDDEN, 'kind=visual', 'viewer');
    const missing = await gallery('pair:nobody|none', 'kind=visual', 'viewer');
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(missing.body);
    expect(hidden.rows).toEqual([]);
    // the admin sees the hidden conversation's image
    expect(ids((await gallery(HIDDEN, 'kind=visual')).body)).toEqual(['h01/0']);
  });

  it('refuses forged cursors, another tab’s cursor and unknown kinds with a 400', async () => {
    const links = await gallery(SHOWN, 'kind=link&limit=1');
    const crossed = await gallery(SHOWN, `kind=visual&before=${links.body.next}`);
    expect([crossed.status, crossed.body.error]).toEqual([400, 'READ_CURSOR_INVALID']);
    expect((await gallery(SHOWN, 'kind=visual&before=bm90LWEtY3Vyc29y')).status).toBe(400);
    expect((await gallery(SHOWN, 'kind=sticker')).status).toBe(400);
    expect((await gallery(SHOWN, '')).status).toBe(400);
    expect((await gallery(SHOWN, 'kind=visual&limit=100000')).status).toBe(400);
  });

  it('describes a customer and a member to whoever shares a conversation with them, and to nobody else', async () => {
    const customer = await get(`/api/corps/${A}/customers/${CUSTOMER}`, 'admin');
    expect(customer.status).toBe(200);
    expect(customer.body.customer).toMatchObject({ id: CUSTOMER, name: '张三客户', type: 1 });
    expect(customer.body.customer.consent.map((c: any) => [c.scopeId, c.scopeName, c.status])).toEqual([
      ['alice', '爱丽丝', 'Agree'],
      ['dave', '戴夫', 'Disagree'],
    ]);
    expect(customer.rows).toMatchObject([{ action: 'directory.read', corpid: A, items: 1 }]);

    // cora reads alice's chat with the customer: she sees the customer, and alice's consent only
    const narrow = await get(`/api/corps/${A}/customers/${CUSTOMER}`, 'cv');
    expect(narrow.status).toBe(200);
    expect(narrow.body.customer.consent.map((c: any) => c.scopeId)).toEqual(['alice']);

    // vera reads alice and bob only: the customer is as missing as an unknown id
    const hidden = await get(`/api/corps/${A}/customers/${CUSTOMER}`, 'viewer');
    const unknown = await get(`/api/corps/${A}/customers/wmNobody`, 'viewer');
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(unknown.body);
    expect(hidden.rows).toEqual([]);
    expect((await get(`/api/corps/${A}/customers/wmNobody`, 'admin')).status).toBe(404);

    const bob = await get(`/api/corps/${A}/members/bob`, 'viewer');
    expect(bob.body.member).toEqual({ id: 'bob', name: '鲍勃', position: null, departments: [4], status: 1 });
    expect((await get(`/api/corps/${A}/members/dave`, 'viewer')).status).toBe(404);
    expect((await get(`/api/corps/${A}/members/dave`, 'admin')).body.member.name).toBe('戴夫');
  });
});
