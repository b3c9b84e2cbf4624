/**
 * The inbox on every database: handlers retried with backoff, failures kept visible in status until
 * replayed, unknown and malformed events stored but not handled, claims never double-handled.
 */
import { expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { CallbackInbox } from '../../src/callbacks/callback-inbox.ts';
import { InboxWorker } from '../../src/callbacks/inbox-worker.ts';
import { exponentialBackoff } from '../../src/runtime/backoff.ts';
import { eventXml, signedCallbackPost, type CallbackAppSecrets } from '../../src/simulator/callbacks/callback-sender.ts';
import { corpStatuses } from '../../src/status/corp-status.ts';
import { describeEachDialect } from '../support/databases.ts';
import { appWithEnv, rawRequest, startCallbackArchive } from './harness.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

const CORP = 'wwinboxtest00001';
const APP: CallbackAppSecrets = { app: 'contacts', token: 'InboxToken', encodingAesKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg' };
const nowS = () => Math.floor(Date.now() / 1000);

describeEachDialect('callback inbox', ({ open }) => {
  it('retries a failing handler, keeps the failure visible in status, and replays it', async () => {
    const app = appWithEnv(await open());
    await addOfflineCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    // The endpoint stores; no workers run in this archive, the test drives its own: its worker only
    // claims 'invalid' rows, which are stored as failed and never claimed.
    const r = await startCallbackArchive(app, { directory: false, inbox: { kinds: ['invalid'] } });
    try {
      const xml = eventXml(CORP, nowS(), 'change_contact', 'create_party', { Id: 7, Name: '法务部', ParentId: 1 });
      const signed = signedCallbackPost(CORP, APP, xml, nowS());
      expect((await rawRequest(r.base, 'POST', `/callback/${CORP}/${APP.app}?${signed.query}`, signed.body)).status).toBe(200);
      // An unknown event and an authentic event missing a required field: stored, not handled.
      const unknown = signedCallbackPost(CORP, APP, eventXml(CORP, nowS(), 'change_school_contact', 'create_student', { Id: 1 }), nowS());
      expect((await rawRequest(r.base, 'POST', `/callback/${CORP}/${APP.app}?${unknown.query}`, unknown.body)).status).toBe(200);
      const broken = signedCallbackPost(CORP, APP, eventXml(CORP, nowS(), 'change_contact', 'delete_user', {}), nowS());
      expect((await rawRequest(r.base, 'POST', `/callback/${CORP}/${APP.app}?${broken.query}`, broken.body)).status).toBe(200);
    } finally {
      await r.stop();
    }
    const rows = await app.store.db.selectFrom('callback_inbox').select(['kind', 'state', 'last_error']).orderBy('id').execute();
    expect(rows).toEqual([
      { kind: 'change_contact', state: 'pending', last_error: null },
      { kind: 'unknown', state: 'ignored', last_error: null },
      { kind: 'invalid', state: 'failed', last_error: expect.stringContaining('UserID') },
    ]);

    const inbox = new CallbackInbox(app.store.db);
    let calls = 0;
    let healthy = false;
    const worker = new InboxWorker(
      {
        inbox,
        log: createLogger('silent'),
        now: Date.now,
        handle: async () => {
          calls += 1;
          if (!healthy) throw new Error('the directory database is read-only');
        },
      },
      { maxAttempts: 3, backoff: exponentialBackoff(1, 2), pollMs: 10 },
    );
    const signal = new AbortController().signal;
    for (let i = 0; i < 20 && calls < 3; i++) {
      await worker.drainOnce(signal);
      await new Promise((res) => setTimeout(res, 5));
    }
    expect(calls).toBe(3);
    await worker.drainOnce(signal);
    expect(calls).toBe(3); // given up after maxAttempts

    const [status] = (await corpStatuses(app.store.db, Date.now())).filter((s) => s.corpid === CORP);
    expect(status!.callbacks).toMatchObject({ failed: 2, pending: 0, ignored: 1 });
    expect(status!.callbacks.latestFailures.map((f) => f.error)).toEqual(expect.arrayContaining(['the directory database is read-only']));

    // Fixed; replay puts it back (the malformed one cannot work and stays failed).
    healthy = true;
    expect(await inbox.replay({ corpid: CORP })).toBe(1);
    await worker.drainOnce(signal);
    expect(calls).toBe(4);
    const states = await app.store.db.selectFrom('callback_inbox').select(['kind', 'state', 'attempts']).orderBy('id').execute();
    expect(states).toEqual([
      { kind: 'change_contact', state: 'done', attempts: 1 },
      { kind: 'unknown', state: 'ignored', attempts: 0 },
      { kind: 'invalid', state: 'failed', attempts: 0 },
    ]);
  });

  it('lets two workers claim the same rows without handling any twice', async () => {
    const app = appWithEnv(await open());
    const inbox = new CallbackInbox(app.store.db);
    for (let i = 0; i < 40; i++) {
      await inbox.store({
        corpid: CORP,
        app: 'a',
        dedupKey: String(i).padStart(64, '0'),
        kind: 'change_contact',
        event: 'change_contact',
        changeType: 'update_user',
        body: '<xml/>',
        remoteAddr: null,
        eventTime: null,
        state: 'pending',
      });
    }
    const handled: number[] = [];
    const make = () => new InboxWorker({ inbox, log: createLogger('silent'), now: Date.now, handle: async (row) => void handled.push(row.id) }, { batch: 7 });
    const [a, b] = [make(), make()];
    const signal = new AbortController().signal;
    for (let i = 0; i < 10; i++) await Promise.all([a.drainOnce(signal), b.drainOnce(signal)]);
    expect(handled.length).toBe(40);
    expect(new Set(handled).size).toBe(40);
  });
});
