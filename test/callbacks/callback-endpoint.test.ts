/**
 * The callback endpoint over real HTTP, on every database: the official vectors, WeCom's `+`, and
 * every hostile request refused with a 4xx and nothing stored; a retried delivery stored once;
 * unknown names answered as a wrong signature; a client hanging up is no error.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { startArchiveProcess } from '../../src/app/archive-process.ts';
import type { App } from '../../src/app/app.ts';
import { encryptCallbackMessage, parseEncodingAesKey, callbackSignature } from '../../src/callbacks/callback-crypto.ts';
import { SAMPLE_POST_BODY_A } from '../support/callback-event-samples.ts';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { eventXml, signedCallbackPost, signedVerification, type CallbackAppSecrets } from '../../src/simulator/callbacks/callback-sender.ts';
import { describeEachDialect } from '../support/databases.ts';
import { appWithEnv, rawRequest, startCallbackArchive, type RunningArchive } from './harness.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

const running: RunningArchive[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop();
});

const CORP = 'wwcallbacktest01';
const APP: CallbackAppSecrets = { app: 'contacts', token: 'Tok3nForTests0000000000000000001', encodingAesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' };

async function archive(app: App): Promise<RunningArchive> {
  const r = await startCallbackArchive(app, { directory: false });
  running.push(r);
  return r;
}

async function addCorp(app: App, corpid: string): Promise<void> {
  await addOfflineCorp(app, corpid);
}

async function inboxRows(app: App): Promise<number> {
  const r = await app.store.db
    .selectFrom('callback_inbox')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

const nowS = () => Math.floor(Date.now() / 1000);
const event = (userid = 'zhangsan', name = '张三') => eventXml(CORP, nowS(), 'change_contact', 'update_user', { UserID: userid, Name: name });
const post = (r: RunningArchive, signed: { query: string; body: string }, app = APP.app, headers: Record<string, string> = {}) =>
  rawRequest(r.base, 'POST', `/callback/${CORP}/${app}?${signed.query}`, signed.body, headers);

describeEachDialect('callback endpoint', ({ open }) => {
  it('answers the official URL verifications (sets A and C) with the exact echo, + and / kept', async () => {
    // The vectors are from 2014 and 2020: the age check is off for them.
    const app = appWithEnv(await open(), { WECOM_ARCHIVE_CALLBACK_MAX_AGE_S: '0' });
    await addCorp(app, 'wx5823bf96d3bd56c7');
    await addCorp(app, 'ww6a112864f8022910');
    await app.callbackApps.add({ corpid: 'wx5823bf96d3bd56c7', app: 'php', token: 'QDG6eK', aesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' });
    await app.callbackApps.add({ corpid: 'ww6a112864f8022910', app: 'go', token: 'kjr2TKI8umCBfVF3wAHk8JiPwma5VBme', aesKey: '4Ma3YBrSBbX2aez8MJpXGBne5LSDwgGqHbhM9WPYIws' });
    const r = await archive(app);

    const a = '/callback/wx5823bf96d3bd56c7/php?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3&timestamp=1409659589&nonce=263014780';
    const encoded = await rawRequest(r.base, 'GET', `${a}&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D`);
    expect(encoded).toMatchObject({ status: 200, body: '1616140317555161061' });
    // The same echostr with its "+", "/" and "=" unescaped, as some senders do: "+" must not become a space.
    const raw = await rawRequest(r.base, 'GET', `${a}&echostr=P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==`);
    expect(raw).toMatchObject({ status: 200, body: '1616140317555161061' });

    const c = await rawRequest(
      r.base,
      'GET',
      '/callback/ww6a112864f8022910/go?msg_signature=1ba3cb09c0d2c2b3ed6900d37f91a6efae6cb011&timestamp=1583940690&nonce=VHh7ymSeb0jc4lSb&echostr=6KmUQuPVu7UhjyVqRdbo5SfcRqaHvbUlKSHFvBV2ZuR6TIlKsygcfeSd1GDplg1C5KSKr6UPHCaC%2FnIX3ZNt9w%3D%3D',
    );
    expect(c).toMatchObject({ status: 200, body: '94966531020182955848408' });

    // Set A's POST is a text message, not an event: accepted, stored, ignored.
    const p = await rawRequest(
      r.base,
      'POST',
      '/callback/wx5823bf96d3bd56c7/php?msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149',
      SAMPLE_POST_BODY_A,
    );
    expect(p).toMatchObject({ status: 200, body: 'success' });
    const stored = await app.store.db.selectFrom('callback_inbox').select(['kind', 'state', 'body']).execute();
    expect(stored).toEqual([{ kind: 'unknown', state: 'ignored', body: expect.stringContaining('<Content><![CDATA[hello]]></Content>') }]);
    // No echo without a valid signature.
    expect(
      (
        await rawRequest(
          r.base,
          'GET',
          `${a.replace('5c45ff', '5c45fe')}&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D`,
        )
      ).status,
    ).toBe(403);
  });

  it('stores a signed event before replying, fast, and a retried delivery only once', async () => {
    const app = appWithEnv(await open());
    await addCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    const r = await archive(app);
    const signed = signedCallbackPost(CORP, APP, event(), nowS(), 'a+b/c');
    const first = await post(r, signed);
    expect(first).toMatchObject({ status: 200, body: 'success' });
    expect(first.ms).toBeLessThan(5_000);
    // WeCom retries a delivery it thinks failed: acknowledged again, stored and handled once.
    const again = await post(r, signed);
    expect(again).toMatchObject({ status: 200, body: 'success' });
    const rows = await app.store.db.selectFrom('callback_inbox').select(['kind', 'event', 'change_type', 'app']).execute();
    expect(rows).toEqual([{ kind: 'change_contact', event: 'change_contact', change_type: 'update_user', app: 'contacts' }]);
    // …and handled by the workers: the member's name is in the directory.
    await expect.poll(async () => (await app.store.db.selectFrom('dir_members').select('name').where('userid', '=', 'zhangsan').executeTakeFirst())?.name).toBe('张三');
    await expect.poll(async () => (await app.store.db.selectFrom('callback_inbox').select('state').executeTakeFirst())?.state).toBe('done');
  });

  it('refuses every hostile request with a 4xx and stores nothing', async () => {
    const app = appWithEnv(await open());
    await addCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    const r = await archive(app);
    const key = parseEncodingAesKey(APP.encodingAesKey);
    const signedRaw = (inner: string, receiveId = CORP, ts = nowS()) => {
      const encrypted = encryptCallbackMessage(key, inner, receiveId);
      const nonce = '12345';
      const sig = callbackSignature(APP.token, String(ts), nonce, encrypted);
      return {
        query: `msg_signature=${sig}&timestamp=${ts}&nonce=${nonce}`,
        body: `<xml><ToUserName><![CDATA[${CORP}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt></xml>`,
      };
    };
    const good = signedCallbackPost(CORP, APP, event(), nowS());
    const cases: Array<[string, () => Promise<{ status: number; body: string }>, number]> = [
      ['bad signature', () => post(r, { ...good, query: good.query.replace(/msg_signature=(.)/, (_m, c: string) => `msg_signature=${c === 'a' ? 'b' : 'a'}`) }), 403],
      ['signature of another token', () => post(r, signedCallbackPost(CORP, { ...APP, token: 'SomeOtherToken' }, event(), nowS())), 403],
      [
        'body altered after signing',
        () => post(r, { ...good, body: good.body.replace(/<Encrypt><!\[CDATA\[(.)/, (_m, c: string) => `<Encrypt><![CDATA[${c === 'A' ? 'B' : 'A'}`) }),
        403,
      ],
      ['oversized body', () => post(r, { ...good, body: `<xml><Encrypt><![CDATA[${'A'.repeat(70_000)}]]></Encrypt></xml>` }), 413],
      ['malformed XML', () => post(r, { ...good, body: '<xml><Encrypt>unclosed' }), 400],
      ['not XML at all', () => post(r, { ...good, body: '{"encrypt":"x"}' }), 400],
      ['empty body', () => post(r, { ...good, body: '' }), 400],
      [
        'XXE in the outer body',
        () => post(r, { ...good, body: '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><Encrypt>&xxe;</Encrypt></xml>' }),
        400,
      ],
      [
        'XXE inside the signed, encrypted event',
        () =>
          post(
            r,
            signedRaw(
              '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><ToUserName>&xxe;</ToUserName><MsgType>event</MsgType><Event>change_contact</Event></xml>',
            ),
          ),
        400,
      ],
      [
        'billion laughs inside the event',
        () => post(r, signedRaw('<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Event>&b;</Event></xml>')),
        400,
      ],
      ['wrong receiveid (encrypted for another corp)', () => post(r, signedRaw(event(), 'wwsomeoneelse')), 400],
      ['timestamp an hour old', () => post(r, signedCallbackPost(CORP, APP, event(), nowS() - 3600)), 403],
      ['timestamp an hour ahead', () => post(r, signedCallbackPost(CORP, APP, event(), nowS() + 3600)), 403],
      ['no such app', () => post(r, good, 'nosuchapp'), 403],
      ['no such corp', () => rawRequest(r.base, 'POST', `/callback/wwnosuchcorp/${APP.app}?${good.query}`, good.body), 403],
      ['U+0000 inside the signed, encrypted event', () => post(r, signedCallbackPost(CORP, APP, event('nul', 'a\u0000b'), nowS())), 400],
      ['a C0 control (U+001B) inside the signed, encrypted event', () => post(r, signedCallbackPost(CORP, APP, event('esc', 'a\u001bb'), nowS())), 400],
      ['U+0000 in the outer body', () => post(r, { ...good, body: good.body.replace('<AgentID>', '<AgentID>\u0000') }), 400],
      ['two Encrypt elements', () => post(r, { ...good, body: good.body.replace('</xml>', '<Encrypt><![CDATA[AAAA]]></Encrypt></xml>') }), 400],
      ['missing msg_signature', () => post(r, { ...good, query: good.query.replace(/msg_signature=[^&]*&/, '') }), 400],
      ['repeated parameter', () => post(r, { ...good, query: `${good.query}&timestamp=1` }), 400],
      ['broken %-escape', () => post(r, { ...good, query: `${good.query}&x=%zz` }), 400],
      ['PUT', () => rawRequest(r.base, 'PUT', `/callback/${CORP}/${APP.app}?${good.query}`, good.body), 405],
      ['path with extra segments', () => rawRequest(r.base, 'POST', `/callback/${CORP}/${APP.app}/x?${good.query}`, good.body), 404],
    ];
    for (const [what, send, status] of cases) {
      const answer = await send();
      expect(answer.status, what).toBe(status);
      expect(answer.body, what).not.toContain(APP.token);
    }
    expect(await inboxRows(app)).toBe(0);
    expect(await app.store.db.selectFrom('dir_members').selectAll().execute()).toEqual([]);
    // What is wrong is said, not "no Encrypt element"; a forbidden character is named by its code point.
    const twice = await post(r, { ...good, body: good.body.replace('</xml>', '<Encrypt><![CDATA[AAAA]]></Encrypt></xml>') });
    expect(JSON.parse(twice.body).message).toBe('the POST body has 2 Encrypt elements; WeCom sends exactly one');
    const nul = await post(r, signedCallbackPost(CORP, APP, event('nul', 'a\u0000b'), nowS()));
    expect(JSON.parse(nul.body).message).toMatch(/^the decrypted event: callback XML is malformed: a character XML does not allow \(U\+0000\) at offset \d+$/);
    // The same request, untouched, is accepted: the refusals above were about what was wrong.
    expect((await post(r, good)).status).toBe(200);
    expect(await inboxRows(app)).toBe(1);
  });

  it('answers an unknown corp or app exactly as a wrong signature, so configured names cannot be enumerated', async () => {
    const app = appWithEnv(await open());
    await addCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    const r = await archive(app);
    const good = signedCallbackPost(CORP, APP, event(), nowS());
    const forged = signedCallbackPost(CORP, { ...APP, token: 'NotTheToken' }, event(), nowS());
    const wrongSignature = await post(r, forged);
    expect(wrongSignature.status).toBe(403);
    const answers = [
      await post(r, good, 'nosuchapp'),
      await rawRequest(r.base, 'POST', `/callback/wwnosuchcorp/${APP.app}?${good.query}`, good.body),
      await rawRequest(r.base, 'POST', `/callback/wwnosuchcorp/nosuchapp?${forged.query}`, forged.body),
    ];
    for (const a of answers) expect({ status: a.status, body: a.body }).toEqual({ status: wrongSignature.status, body: wrongSignature.body });
    // URL verification too: no echo, and the same answer for a name that does not exist
    const v = signedVerification(CORP, APP, nowS());
    const unknown = await rawRequest(r.base, 'GET', `/callback/${CORP}/nosuchapp?${v.query}`);
    const badGet = await rawRequest(
      r.base,
      'GET',
      `/callback/${CORP}/${APP.app}?${v.query.replace(/msg_signature=(.)/, (_m, c: string) => `msg_signature=${c === 'a' ? 'b' : 'a'}`)}`,
    );
    expect({ status: unknown.status, body: unknown.body }).toEqual({ status: badGet.status, body: badGet.body });
    expect(await inboxRows(app)).toBe(0);
  });

  it('logs a client that hangs up mid-body at debug, without a stack, and goes on serving', async () => {
    const app = appWithEnv(await open());
    await addCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    const lines: Array<{ level: number; msg: string; err?: unknown }> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString('utf8')));
        done();
      },
    });
    const log = pino({ level: 'debug' }, sink);
    const running = await startArchiveProcess(app, log, { listen: { host: '127.0.0.1', port: 0 }, callbacks: { handlePullNotifies: true, directory: false } });
    const { server } = running;
    try {
      for (let i = 0; i < 5; i++) {
        await new Promise<void>((resolve, reject) => {
          const socket = connect(server.port, '127.0.0.1', () => {
            socket.write(`POST /callback/${CORP}/${APP.app}?msg_signature=${'a'.repeat(40)}&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<xml><Encrypt>`);
            setTimeout(() => socket.destroy(), 30);
          });
          socket.on('close', () => resolve());
          socket.on('error', reject);
        });
      }
      await expect.poll(() => lines.filter((l) => l.msg === 'callback client hung up before its body was complete').length).toBe(5);
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(lines.filter((l) => l.err !== undefined)).toEqual([]);
      // the server still answers
      expect((await post({ base: `http://127.0.0.1:${server.port}` } as RunningArchive, signedCallbackPost(CORP, APP, event(), nowS()))).status).toBe(200);
    } finally {
      await running.close();
    }
  });

  it("refuses callbacks from outside WeCom's IP list when enforced, trusting X-Forwarded-For only from trusted proxies", async () => {
    const app = appWithEnv(await open(), { WECOM_ARCHIVE_CALLBACK_IP_CHECK: 'enforce', WECOM_ARCHIVE_TRUSTED_PROXIES: '127.0.0.1' });
    await addCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    const r = await archive(app);
    // No list fetched yet: enforcement fails closed.
    expect((await post(r, signedCallbackPost(CORP, APP, event('a1'), nowS()))).status).toBe(403);
    await new DirectoryStore(app.store.db, app.store.dialect).replaceCallbackIps(CORP, ['101.226.103.*', '182.254.0.0/16']);
    // The guard caches the list for a minute: a fresh archive reads it now.
    const fresh = await archive(app);
    expect((await post(fresh, signedCallbackPost(CORP, APP, event('a2'), nowS()))).status).toBe(403); // 127.0.0.1 itself is not WeCom
    expect((await post(fresh, signedCallbackPost(CORP, APP, event('a3'), nowS()), APP.app, { 'x-forwarded-for': '8.8.8.8' })).status).toBe(403);
    expect((await post(fresh, signedCallbackPost(CORP, APP, event('a4'), nowS()), APP.app, { 'x-forwarded-for': '101.226.103.77' })).status).toBe(200);
    expect((await post(fresh, signedCallbackPost(CORP, APP, event('a5'), nowS()), APP.app, { 'x-forwarded-for': '8.8.8.8, 182.254.11.176' })).status).toBe(200);
    expect(await inboxRows(app)).toBe(2);
  });

  it('answers URL verification for a configured app (GET echo) as the simulator sends it', async () => {
    const app = appWithEnv(await open());
    await addCorp(app, CORP);
    await app.callbackApps.add({ corpid: CORP, app: APP.app, token: APP.token, aesKey: APP.encodingAesKey });
    const r = await archive(app);
    const v = signedVerification(CORP, APP, nowS());
    expect(await rawRequest(r.base, 'GET', `/callback/${CORP}/${APP.app}?${v.query}`)).toMatchObject({ status: 200, body: v.echo });
    expect(await inboxRows(app)).toBe(0);
  });
});
