/**
 * The operations page's actions over HTTP, on every database, against the real accounts store and
 * hash-chained audit log: a media download the simulator fails (WeCom code 10005) and a callback
 * event whose handler gave up are listed with why (no message content, no payload), put back by
 * `POST …/media/retry` and `POST …/callbacks/replay`, and then done by the media stage and the
 * inbox worker; each change leaves its audit row; viewers and auditors are refused, and so is an
 * admin's cookie sent from a foreign page.
 */
import { afterEach, expect, it } from 'vitest';
import { startHttpServer } from '../../src/api/http-server.ts';
import { createLogger } from '../../src/app/logger.ts';
import { CallbackInbox } from '../../src/callbacks/callback-inbox.ts';
import { InboxWorker } from '../../src/callbacks/inbox-worker.ts';
import { exponentialBackoff } from '../../src/runtime/backoff.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';
import { addCorp, archiveWithMedia, media, mediaApp, message, ref } from '../media/media-support.ts';

const closers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close();
});
// after the hook above, so that simulators close before the stores
const startSimulator = useSimulators();

const PAYLOAD = '<xml><ToUserName>payload-that-must-not-leave</ToUserName></xml>';

describeEachDialect('operations actions over HTTP', ({ open }) => {
  it('lists, retries and replays a corp’s failures for an admin, audited, and refuses everyone else', async () => {
    const store: Store = await open();
    closers.push(store);
    const { app } = mediaApp(store);
    const sim = await startSimulator({ messages: 0, seed: 'ops-actions' });
    const corpid = sim.corp.corpid;
    const pdf = ref(sim, 'pdf', 0);
    sim.appendFixtures([message('m-pdf', 'file', { file: media(pdf, { filename: '报价单.pdf' }) })]);
    // WeCom says the file id is wrong, once: a failure for good until someone retries
    sim.injectFault('media:10005');
    await addCorp(app, sim);
    await archiveWithMedia(app);
    const job = () => store.db.selectFrom('media').select(['state', 'error_code', 'sha256']).where('msgid', '=', 'm-pdf').executeTakeFirstOrThrow();
    expect(await job()).toMatchObject({ state: 'failed', error_code: 10005 });

    // a contact-change event whose handler gave up
    const inbox = new CallbackInbox(store.db);
    const event = {
      corpid,
      app: 'contacts',
      kind: 'change_contact' as const,
      event: 'change_contact',
      changeType: 'update_user',
      body: PAYLOAD,
      remoteAddr: null,
      eventTime: null,
      state: 'pending' as const,
    };
    const { id } = await inbox.store({ ...event, dedupKey: 'a'.repeat(64) });
    const [claimed] = await inbox.claim('test', 1, 60_000);
    await inbox.fail(claimed!, 'test', 'the directory database is read-only', { maxAttempts: 1, backoff: exponentialBackoff(1, 1) }, true);
    // and one that could not be parsed: listed, never replayable
    await inbox.store({ ...event, kind: 'invalid', dedupKey: 'b'.repeat(64), state: 'failed', lastError: 'missing UserID' });

    const by = { username: 'setup' };
    await app.access.admin.addUser(by, { username: 'root', role: 'admin', password: 'root-password-01', grants: [] });
    await app.access.admin.addUser(by, { username: 'vera', role: 'viewer', password: 'vera-password-01', grants: [{ kind: 'corp', corpid }] });
    await app.access.admin.addUser(by, { username: 'aude', role: 'auditor', password: 'aude-password-01', grants: [{ kind: 'corp', corpid }] });
    const server = await startHttpServer(app, 0, createLogger('silent'), '127.0.0.1', { access: { authenticator: app.access.accounts, audit: app.access.audit } });
    closers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    const signIn = async (username: string, password: string) => {
      const res = await fetch(`${base}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ username, password }),
      });
      expect(res.status).toBe(200);
      return res.headers.getSetCookie()[0]!.split(';')[0]!;
    };
    const call = async (cookie: string, method: 'GET' | 'POST', path: string, body?: unknown, origin = base) => {
      const res = await fetch(`${base}/api/corps/${corpid}${path}`, {
        method,
        headers: { cookie, origin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    // a viewer and an auditor of the corp: refused, nothing changed
    for (const cookie of [await signIn('vera', 'vera-password-01'), await signIn('aude', 'aude-password-01')]) {
      for (const [method, path, body] of [
        ['GET', '/media/failures'],
        ['POST', '/media/retry', {}],
        ['GET', '/callbacks/failures'],
        ['POST', '/callbacks/replay', {}],
      ] as const) {
        const res = await call(cookie, method, path, body);
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error).toBe('FORBIDDEN');
      }
    }
    const admin = await signIn('root', 'root-password-01');
    // the admin's cookie, sent by another site's page
    for (const [path, body] of [
      ['/media/retry', {}],
      ['/callbacks/replay', { id }],
    ] as const) {
      const res = await call(admin, 'POST', path, body, 'https://evil.example');
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('CSRF_ORIGIN_REFUSED');
    }
    expect((await job()).state).toBe('failed');

    // a corp this archive does not hold: 404 on every route, nothing audited
    const auditRows = async () =>
      Number(
        (
          await app.store.db
            .selectFrom('audit_log')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const rowsBefore = await auditRows();
    for (const [method, path, body] of [
      ['GET', '/media/failures'],
      ['POST', '/media/retry', {}],
      ['GET', '/callbacks/failures'],
      ['POST', '/callbacks/replay', {}],
    ] as const) {
      const res = await fetch(`${base}/api/corps/wwnosuchcorp${path}`, {
        method,
        headers: { cookie: admin, origin: base, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: string }).error).toBe('CORP_NOT_FOUND');
    }
    expect(await auditRows()).toBe(rowsBefore);

    // what failed and why: the file's name and WeCom's code, not the message
    const mediaList = await call(admin, 'GET', '/media/failures');
    expect(mediaList.status).toBe(200);
    expect(mediaList.body.failures).toEqual([
      {
        id: expect.any(Number),
        msgid: 'm-pdf',
        kind: 'file',
        state: 'failed',
        fileName: '报价单.pdf',
        errorCode: 10005,
        error: expect.stringMatching(/10005/),
        attempts: 1,
        updatedAt: expect.any(Number),
      },
    ]);
    const retried = await call(admin, 'POST', '/media/retry', {});
    expect(retried).toMatchObject({ status: 200, body: { requeued: 1 } });
    expect(await job()).toMatchObject({ state: 'pending', error_code: 10005 });
    // nothing failed is left to queue
    expect((await call(admin, 'POST', '/media/retry', { state: 'failed' })).body).toEqual({ requeued: 0 });
    await archiveWithMedia(app);
    expect(await job()).toMatchObject({ state: 'done', error_code: null, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect((await call(admin, 'GET', '/media/failures')).body).toEqual({ failures: [] });

    const inboxList = await call(admin, 'GET', '/callbacks/failures');
    expect(inboxList.status).toBe(200);
    expect(JSON.stringify(inboxList.body)).not.toContain('payload-that-must-not-leave');
    const failures = inboxList.body.failures as Array<Record<string, unknown>>;
    expect(failures.map((f) => [f.kind, f.replayable, f.error])).toEqual([
      ['invalid', false, 'missing UserID'],
      ['change_contact', true, 'the directory database is read-only'],
    ]);
    expect(failures[1]).toMatchObject({ id, app: 'contacts', event: 'change_contact', changeType: 'update_user', attempts: 1, receivedAt: expect.any(Number) });
    // one event by id; the malformed one is never taken back
    expect((await call(admin, 'POST', '/callbacks/replay', { id })).body).toEqual({ replayed: 1 });
    expect((await call(admin, 'POST', '/callbacks/replay', {})).body).toEqual({ replayed: 0 });
    const handled: number[] = [];
    const worker = new InboxWorker({ inbox, log: createLogger('silent'), now: Date.now, handle: async (row) => void handled.push(row.id) });
    await worker.drainOnce(new AbortController().signal);
    expect(handled).toEqual([id]);
    const states = await store.db.selectFrom('callback_inbox').select(['id', 'state']).orderBy('id').execute();
    expect(states.map((s) => s.state)).toEqual(['done', 'failed']);

    // every change, and every read of file names, has its row in the chained log
    const rows = await store.db
      .selectFrom('audit_log')
      .select(['username', 'action', 'corpid', 'query', 'items'])
      .where('action', 'not in', ['login', 'users.add'])
      .orderBy('id')
      .execute();
    expect(rows.map((r) => [r.username, r.action, r.corpid, r.query, Number(r.items)])).toEqual([
      ['root', 'media.failures', corpid, null, 1],
      ['root', 'media.retry', corpid, '{"state":"failed"}', 1],
      ['root', 'media.retry', corpid, '{"state":"failed"}', 0],
      ['root', 'media.failures', corpid, null, 0],
      ['root', 'callbacks.replay', corpid, `{"id":${id}}`, 1],
      ['root', 'callbacks.replay', corpid, '{"all":true}', 0],
    ]);
    expect((await app.access.audit.verify()).ok).toBe(true);
  });
});
