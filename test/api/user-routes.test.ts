/**
 * The account routes on every dialect, through Fastify's inject with the real accounts store and
 * audit log, signed in by session cookie as the UI is: an admin adds an account (a taken name is a
 * 409, a weak password a 400, with the CLI's rules), lists them without a password hash, grants a
 * viewer a conversation (which the viewer then reads, and no longer after the revoke), and disables
 * an account (its session ends at once); every change leaves its audit row; viewers and auditors
 * are refused, and so is a request from another origin with the admin's cookie.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { auditPage } from '../../src/access/audit-log.ts';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { createLogger } from '../../src/app/logger.ts';
import type { Store } from '../../src/store/open-store.ts';
import { A, B } from '../reading/reading-fixture.ts';
import { describeEachDialect } from '../support/databases.ts';
import { openReadArchive } from '../support/read-archive.ts';

const SHOWN = 'pair:alice|bob';
const HOST = 'archive.test';
const ORIGIN = `http://${HOST}`;
const PASSWORD = 'a long enough password';

describeEachDialect('account routes', ({ open }) => {
  let store: Store;
  let api: ApiInstance;
  let dir: string | undefined;
  const cookies: Record<string, string> = {};

  afterAll(async () => {
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Signs in by password, as the login page does; returns the status and keeps the session cookie. */
  const signIn = async (username: string, password = PASSWORD) => {
    const res = await api.inject({ method: 'POST', url: '/api/session', headers: { host: HOST, origin: ORIGIN }, payload: { username, password } });
    const cookie = res.cookies.find((c) => c.name === 'wecom_archive_session');
    if (cookie) cookies[username] = `${cookie.name}=${cookie.value}`;
    return res.statusCode;
  };
  const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, who: string | undefined, body?: unknown, origin = ORIGIN) => {
    const headers: Record<string, string> = { host: HOST, origin };
    if (who) headers.cookie = cookies[who]!;
    const res = await api.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body as object }) });
    return { status: res.statusCode, body: res.json() as Record<string, any>, text: res.body };
  };
  const auditRows = async (action: string) => (await auditPage(store.db, { action, limit: 100 })).rows;
  const visibleTo = async (who: string) => {
    const res = await call('GET', `/api/corps/${A}/conversations?limit=200`, who);
    expect(res.status, res.text).toBe(200);
    return res.body.conversations.map((c: { conversation: string }) => c.conversation);
  };

  beforeAll(async () => {
    store = await open();
    dir = await mkdtemp(join(tmpdir(), 'wa-users-'));
    const { app } = await openReadArchive(store, dir);
    const setup = { username: 'setup' };
    await app.access.admin.addUser(setup, { username: 'root', role: 'admin', password: PASSWORD, grants: [] });
    await app.access.admin.addUser(setup, { username: 'otto', role: 'auditor', password: PASSWORD, grants: [{ kind: 'corp', corpid: B }] });
    await app.access.admin.addUser(setup, { username: 'vic', role: 'viewer', password: PASSWORD, grants: [] });
    api = await buildApi(app, createLogger('silent'), { access: { authenticator: app.access.accounts, audit: app.access.audit } });
    for (const who of ['root', 'otto', 'vic']) expect(await signIn(who)).toBe(200);
  });

  it('adds an account with the CLI’s rules, lists accounts without their secrets, and audits both', async () => {
    const added = await call('POST', '/api/users', 'root', { username: 'vera', role: 'viewer', password: PASSWORD, grants: [{ kind: 'corp', corpid: B }] });
    expect(added.status, added.text).toBe(201);
    expect(added.body.user).toMatchObject({ username: 'vera', role: 'viewer', disabled: false, grants: [{ kind: 'corp', corpid: B }], lastLogin: null, wecom: null });
    const [row] = (await auditRows('users.add')).filter((r) => r.query?.includes('vera'));
    expect(row).toMatchObject({ username: 'root', role: 'admin', user_id: expect.any(Number) });

    const taken = await call('POST', '/api/users', 'root', { username: 'vera', role: 'viewer', password: PASSWORD });
    expect([taken.status, taken.body.error]).toEqual([409, 'USER_EXISTS']);
    const short = await call('POST', '/api/users', 'root', { username: 'walt', role: 'viewer', password: 'short' });
    expect([short.status, short.body.error]).toEqual([400, 'PASSWORD_INVALID']);
    const same = await call('POST', '/api/users', 'root', { username: 'walter1234', role: 'viewer', password: 'Walter1234' });
    expect([same.status, same.body.error]).toEqual([400, 'PASSWORD_INVALID']);
    // a WeCom account signs in as one account only
    const bound = await call('POST', '/api/users', 'root', { username: 'wendy', role: 'viewer', password: PASSWORD, wecom: { corpid: A, userid: 'wendy' } });
    expect(bound.body.user).toMatchObject({ username: 'wendy', wecom: `${A}:wendy` });
    const twice = await call('POST', '/api/users', 'root', { username: 'wendy2', role: 'viewer', password: PASSWORD, wecom: { corpid: A, userid: 'wendy' } });
    expect([twice.status, twice.body.error]).toEqual([409, 'WECOM_BINDING_TAKEN']);
    // an admin takes no grants, as `users add` says
    const adminGrant = await call('POST', '/api/users', 'root', { username: 'wanda', role: 'admin', password: PASSWORD, grants: [{ kind: 'corp', corpid: A }] });
    expect([adminGrant.status, adminGrant.body.error]).toEqual([400, 'GRANT_INVALID']);

    const list = await call('GET', '/api/users', 'root');
    expect(list.status).toBe(200);
    expect(list.body.users.map((u: { username: string }) => u.username)).toEqual(['otto', 'root', 'vera', 'vic', 'wendy']);
    expect(list.body.users.find((u: { username: string }) => u.username === 'root').lastLogin).toEqual(expect.any(Number));
    expect(list.text).not.toMatch(/argon2|password|hash/i);
    expect((await auditRows('users.list')).at(-1)).toMatchObject({ username: 'root', items: 5 });
  });

  it('grants a viewer one conversation, which the viewer then reads, and revokes it again', async () => {
    expect(await visibleTo('vic')).toEqual([]);
    const grant = { kind: 'conversation', corpid: A, conversation: SHOWN };
    const added = await call('POST', '/api/users/vic/grants', 'root', grant);
    expect(added.status, added.text).toBe(200);
    expect(added.body).toEqual({ user: expect.objectContaining({ username: 'vic', grants: [grant] }), changed: 1 });
    expect(await visibleTo('vic')).toEqual([SHOWN]);
    expect((await auditRows('grants.add')).at(-1)).toMatchObject({ username: 'root', query: expect.stringContaining(`conversation:${A}:${SHOWN}`) });

    const revoked = await call('DELETE', '/api/users/vic/grants', 'root', grant);
    expect(revoked.body).toEqual({ user: expect.objectContaining({ grants: [] }), changed: 1 });
    expect(await visibleTo('vic')).toEqual([]);
    expect((await auditRows('grants.revoke')).at(-1)).toMatchObject({ username: 'root' });
    // an auditor reads whole corps only; an unknown account is a 404
    expect((await call('POST', '/api/users/otto/grants', 'root', grant)).body.error).toBe('GRANT_INVALID');
    expect((await call('POST', '/api/users/nobody/grants', 'root', grant)).status).toBe(404);
  });

  it('ends the session of an account it disables, and lets it sign in again once enabled', async () => {
    expect((await call('GET', '/api/me', 'vic')).status).toBe(200);
    const disabled = await call('POST', '/api/users/vic/disable', 'root', {});
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toEqual({ user: expect.objectContaining({ username: 'vic', disabled: true }), sessionsEnded: 1 });
    expect((await call('GET', '/api/me', 'vic')).status).toBe(401);
    expect(await signIn('vic')).toBe(403);
    expect((await auditRows('users.disable')).at(-1)).toMatchObject({ username: 'root', query: JSON.stringify({ username: 'vic' }) });

    const enabled = await call('POST', '/api/users/vic/enable', 'root', {});
    expect(enabled.body).toEqual({ user: expect.objectContaining({ disabled: false }), sessionsEnded: 0 });
    expect(await signIn('vic')).toBe(200);
    // one click must not shut the admin out
    const self = await call('POST', '/api/users/root/disable', 'root', {});
    expect([self.status, self.body.error]).toEqual([400, 'USER_DISABLE_SELF']);
    expect((await call('GET', '/api/me', 'root')).status).toBe(200);
  });

  it('refuses viewers, auditors, the signed-out and another origin, and changes nothing for them', async () => {
    const grant = { kind: 'corp', corpid: A };
    const requests: Array<['GET' | 'POST' | 'DELETE', string, unknown]> = [
      ['GET', '/api/users', undefined],
      ['POST', '/api/users', { username: 'mallory', role: 'admin', password: PASSWORD }],
      ['POST', '/api/users/root/disable', {}],
      ['POST', '/api/users/vic/enable', {}],
      ['POST', '/api/users/vic/grants', grant],
      ['DELETE', '/api/users/vic/grants', grant],
    ];
    for (const [method, url, body] of requests) {
      for (const who of ['vic', 'otto']) expect((await call(method, url, who, body)).status, `${who} ${method} ${url}`).toBe(403);
      expect((await call(method, url, undefined, body)).status, `signed out ${method} ${url}`).toBe(401);
      if (method !== 'GET') {
        const foreign = await call(method, url, 'root', body, 'https://evil.example');
        expect([foreign.status, foreign.body.error], `foreign ${method} ${url}`).toEqual([403, 'CSRF_ORIGIN_REFUSED']);
      }
    }
    const users = (await call('GET', '/api/users', 'root')).body.users as Array<{ username: string; disabled: boolean; grants: unknown[] }>;
    expect(users.map((u) => u.username)).not.toContain('mallory');
    expect(users.find((u) => u.username === 'root')!.disabled).toBe(false);
    expect(users.find((u) => u.username === 'vic')!.grants).toEqual([]);
  });
});
