/**
 * Accounts on every database: adding users, password login with lockout, disabled accounts, the
 * same answer (and the same argon2 work) for an unknown user and a wrong password, sessions with
 * idle and absolute expiry, their end on a password change or disable, API tokens stored hashed,
 * signing in with WeCom, and the scope each role reads.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { accessServices, type AccessServices } from '../../src/access/access-services.ts';
import type { Actor } from '../../src/access/account-admin.ts';
import { argon2Hasher, type PasswordHasher } from '../../src/access/passwords.ts';
import { EVERYTHING } from '../../src/access/read-scope.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';

const ORIGIN = { ip: '127.0.0.1', userAgent: 'vitest' };
const BY: Actor = { username: 'test-operator' };
const PW = 'a long enough password';

/** argon2id at a test cost, counting verifications (the timing rule is "both paths verify once"). */
function countingHasher(): PasswordHasher & { verifications: number } {
  const inner = argon2Hasher({ memoryCost: 1024, timeCost: 1 });
  const h = {
    verifications: 0,
    hash: (p: string) => inner.hash(p),
    verify: (hash: string, p: string) => {
      h.verifications++;
      return inner.verify(hash, p);
    },
  };
  return h;
}

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describeEachDialect('accounts', ({ open }) => {
  let store: Store;
  let hasher: ReturnType<typeof countingHasher>;
  let time: ReturnType<typeof clock>;
  let access: AccessServices;

  it('adds users with their grants; refuses a taken name, a bad password and grants a role does not take', async () => {
    store = await open();
    hasher = countingHasher();
    time = clock();
    access = accessServices(store.db, { hasher, now: time.now });
    const { admin } = access;
    await admin.addUser(BY, { username: 'root', role: 'admin', password: PW, grants: [] });
    await admin.addUser(BY, { username: 'aud', role: 'auditor', password: PW, grants: [{ kind: 'corp', corpid: 'wwA' }] });
    await admin.addUser(BY, {
      username: 'view',
      role: 'viewer',
      password: PW,
      grants: [
        { kind: 'corp', corpid: 'wwB' },
        { kind: 'department', corpid: 'wwA', departmentId: 12 },
        { kind: 'conversation', corpid: 'wwA', conversation: 'room:wrXYZ' },
      ],
      wecom: { corpid: 'wwA', userid: 'zhangsan' },
    });
    await expect(admin.addUser(BY, { username: 'view', role: 'viewer', password: PW, grants: [] })).rejects.toMatchObject({ code: 'USER_EXISTS' });
    await expect(admin.addUser(BY, { username: 'other', role: 'viewer', password: 'other', grants: [] })).rejects.toMatchObject({ code: 'PASSWORD_INVALID' });
    await expect(admin.addUser(BY, { username: 'root2', role: 'admin', password: PW, grants: [{ kind: 'corp', corpid: 'wwA' }] })).rejects.toMatchObject({
      code: 'GRANT_INVALID',
    });
    await expect(admin.addUser(BY, { username: 'aud2', role: 'auditor', password: PW, grants: [{ kind: 'export' }] })).rejects.toMatchObject({ code: 'GRANT_INVALID' });
    await expect(admin.addUser(BY, { username: 'v2', role: 'viewer', password: PW, grants: [], wecom: { corpid: 'wwA', userid: 'zhangsan' } })).rejects.toMatchObject({
      code: 'WECOM_BINDING_TAKEN',
    });

    const users = await admin.listUsers();
    expect(users.map((u) => [u.username, u.role, u.grants])).toEqual([
      ['aud', 'auditor', ['corp:wwA']],
      ['root', 'admin', []],
      ['view', 'viewer', ['corp:wwB', 'department:wwA:12', 'conversation:wwA:room:wrXYZ']],
    ]);
    // the password is stored as an argon2id hash only
    const rows = await store.db.selectFrom('users').select('password_hash').execute();
    for (const r of rows) expect(r.password_hash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(rows)).not.toContain(PW);
  });

  it('logs in with the right password and gives each role its scope', async () => {
    const root = await access.accounts.login('root', PW, ORIGIN);
    const aud = await access.accounts.login('aud', PW, ORIGIN);
    const view = await access.accounts.login('view', PW, ORIGIN);
    if (!root.ok || !aud.ok || !view.ok) throw new Error('login failed');
    expect(root.caller).toMatchObject({ username: 'root', role: 'admin', scope: EVERYTHING, mayExport: true, via: 'session' });
    expect(aud.caller).toMatchObject({ role: 'auditor', scope: { kind: 'limited', corps: ['wwA'], departments: [], conversations: [] }, mayExport: true });
    expect(view.caller).toMatchObject({
      role: 'viewer',
      scope: { kind: 'limited', corps: ['wwB'], departments: [{ corpid: 'wwA', departmentId: 12 }], conversations: [{ corpid: 'wwA', conversation: 'room:wrXYZ' }] },
      mayExport: false,
    });
    // the session token is not in the database, only its hash
    const sessions = await store.db.selectFrom('sessions').selectAll().execute();
    expect(JSON.stringify(sessions)).not.toContain(view.sessionToken);
    expect((await access.accounts.sessionCaller(view.sessionToken))?.username).toBe('view');

    // grant and revoke change the scope of the next request; revoking one grant leaves the others
    await access.admin.grant(BY, 'view', [{ kind: 'export' }, { kind: 'corp', corpid: 'wwB' }]);
    await access.admin.revoke(BY, 'view', [{ kind: 'corp', corpid: 'wwB' }]);
    const after = await access.accounts.sessionCaller(view.sessionToken);
    expect(after).toMatchObject({ mayExport: true, scope: { corps: [], departments: [{ corpid: 'wwA', departmentId: 12 }] } });
    expect((await access.admin.listUsers()).find((u) => u.username === 'view')?.grants).toEqual(['department:wwA:12', 'conversation:wwA:room:wrXYZ', 'export']);
  });

  it('answers an unknown user and a wrong password alike, each after one argon2 verification', async () => {
    const before = hasher.verifications;
    const unknown = await access.accounts.login('nobody', PW, ORIGIN);
    expect(hasher.verifications).toBe(before + 1);
    const wrong = await access.accounts.login('root', 'a wrong password!', ORIGIN);
    expect(hasher.verifications).toBe(before + 2);
    expect(unknown).toEqual({ ok: false, reason: 'refused' });
    expect(wrong).toEqual(unknown);
  });

  it('locks an account after 10 failures in a row for the lockout time; a success in between starts the count again', async () => {
    const { admin, accounts } = access;
    await admin.addUser(BY, { username: 'lock', role: 'viewer', password: PW, grants: [] });
    for (let i = 0; i < 9; i++) expect(await accounts.login('lock', 'wrong password!', ORIGIN)).toEqual({ ok: false, reason: 'refused' });
    expect((await accounts.login('lock', PW, ORIGIN)).ok).toBe(true);
    for (let i = 0; i < 9; i++) await accounts.login('lock', 'wrong password!', ORIGIN);
    expect(await accounts.login('lock', PW, ORIGIN)).toMatchObject({ ok: true });
    for (let i = 0; i < 10; i++) await accounts.login('lock', 'wrong password!', ORIGIN);
    // locked: even the right password is refused, and the answer is the same for a wrong one
    const verifications = hasher.verifications;
    expect(await accounts.login('lock', PW, ORIGIN)).toEqual({ ok: false, reason: 'locked' });
    expect(await accounts.login('lock', 'wrong password!', ORIGIN)).toEqual({ ok: false, reason: 'locked' });
    expect(hasher.verifications).toBe(verifications + 2);
    time.advance(15 * 60_000 - 1);
    expect(await accounts.login('lock', PW, ORIGIN)).toEqual({ ok: false, reason: 'locked' });
    time.advance(1);
    expect(await accounts.login('lock', PW, ORIGIN)).toMatchObject({ ok: true });

    // the lockout time is a setting
    await admin.setSetting(BY, 'lockout', '1h');
    expect(await accounts.settings()).toMatchObject({ lockoutMs: 3_600_000, requireReason: false });
    for (let i = 0; i < 10; i++) await accounts.login('lock', 'wrong password!', ORIGIN);
    time.advance(59 * 60_000);
    expect(await accounts.login('lock', PW, ORIGIN)).toEqual({ ok: false, reason: 'locked' });
    time.advance(60_000);
    expect(await accounts.login('lock', PW, ORIGIN)).toMatchObject({ ok: true });
  });

  it('ends sessions after 30 minutes idle or 12 hours in all; a touched session lives on', async () => {
    const { accounts } = access;
    const idle = await accounts.login('root', PW, ORIGIN);
    if (!idle.ok) throw new Error('login failed');
    // last use is written at most once a minute, not on every request
    const lastSeen = async () => Number((await store.db.selectFrom('sessions').select('last_seen').where('id', '=', idle.caller.credentialId).executeTakeFirstOrThrow()).last_seen);
    const opened = time.now();
    time.advance(59_999);
    expect(await accounts.sessionCaller(idle.sessionToken)).toBeDefined();
    expect(await lastSeen()).toBe(opened);
    time.advance(1);
    expect(await accounts.sessionCaller(idle.sessionToken)).toBeDefined();
    expect(await lastSeen()).toBe(opened + 60_000);
    time.advance(30 * 60_000 - 1);
    expect(await accounts.sessionCaller(idle.sessionToken)).toBeDefined();
    // that use was recorded: the idle time runs from it
    time.advance(30 * 60_000 - 1);
    expect(await accounts.sessionCaller(idle.sessionToken)).toBeDefined();
    time.advance(30 * 60_000);
    expect(await accounts.sessionCaller(idle.sessionToken)).toBeUndefined();

    const busy = await accounts.login('root', PW, ORIGIN);
    if (!busy.ok) throw new Error('login failed');
    expect(busy.expiresAt).toBe(time.now() + 12 * 3_600_000);
    for (let i = 0; i < 24; i++) {
      expect(await accounts.sessionCaller(busy.sessionToken)).toBeDefined();
      time.advance(29 * 60_000);
    }
    // 24 × 29 min = 11 h 36 min; the next 29 minutes cross 12 h
    expect(await accounts.sessionCaller(busy.sessionToken)).toBeDefined();
    time.advance(29 * 60_000);
    expect(await accounts.sessionCaller(busy.sessionToken)).toBeUndefined();

    // timeouts are settings, fixed in a session when it opens
    await access.admin.setSetting(BY, 'session_idle', '5m');
    const short = await accounts.login('root', PW, ORIGIN);
    if (!short.ok) throw new Error('login failed');
    time.advance(5 * 60_000);
    expect(await accounts.sessionCaller(short.sessionToken)).toBeUndefined();
    await access.admin.setSetting(BY, 'session_idle', '30m');
  });

  it('ends sessions on sign-out, a password change and a disable, and only those of that user', async () => {
    const { accounts, admin } = access;
    const out = await accounts.login('root', PW, ORIGIN);
    const a = await accounts.login('aud', PW, ORIGIN);
    const b = await accounts.login('aud', PW, ORIGIN);
    const v = await accounts.login('view', PW, ORIGIN);
    if (!out.ok || !a.ok || !b.ok || !v.ok) throw new Error('login failed');
    await accounts.endSession(out.sessionToken);
    expect(await accounts.sessionCaller(out.sessionToken)).toBeUndefined();

    // a and b, and the (since expired) session of the scope test
    expect(await admin.setPassword(BY, 'aud', 'another long password')).toBe(3);
    expect(await accounts.sessionCaller(a.sessionToken)).toBeUndefined();
    expect(await accounts.sessionCaller(b.sessionToken)).toBeUndefined();
    expect(await accounts.sessionCaller(v.sessionToken)).toBeDefined();
    expect(await accounts.login('aud', PW, ORIGIN)).toEqual({ ok: false, reason: 'refused' });
    expect((await accounts.login('aud', 'another long password', ORIGIN)).ok).toBe(true);
    await expect(admin.setPassword(BY, 'aud', 'AUD')).rejects.toMatchObject({ code: 'PASSWORD_INVALID' });

    await admin.setDisabled(BY, 'view', true);
    expect(await accounts.sessionCaller(v.sessionToken)).toBeUndefined();
    expect(await accounts.login('view', PW, ORIGIN)).toEqual({ ok: false, reason: 'disabled' });
    // a disabled account does not tell a wrong password that it is disabled
    expect(await accounts.login('view', 'wrong password!', ORIGIN)).toEqual({ ok: false, reason: 'refused' });
    expect(await accounts.loginWithWecom('wwA', 'zhangsan', ORIGIN)).toEqual({ ok: false, reason: 'disabled' });
    await admin.setDisabled(BY, 'view', false);
    // enabling does not bring the ended session back
    expect(await accounts.sessionCaller(v.sessionToken)).toBeUndefined();
    await expect(admin.setDisabled(BY, 'ghost', true)).rejects.toMatchObject({ code: 'USER_NOT_FOUND', kind: 'not_found' });
  });

  it('signs in with WeCom only the account bound to that corp and userid', async () => {
    const ok = await access.accounts.loginWithWecom('wwA', 'zhangsan', ORIGIN);
    expect(ok).toMatchObject({ ok: true, caller: { username: 'view', role: 'viewer' } });
    expect(await access.accounts.loginWithWecom('wwB', 'zhangsan', ORIGIN)).toEqual({ ok: false, reason: 'refused' });
    expect(await access.accounts.loginWithWecom('wwA', 'lisi', ORIGIN)).toEqual({ ok: false, reason: 'refused' });
  });

  it('keeps API tokens hashed at rest; expired, revoked and disabled users’ tokens stop', async () => {
    const { admin, accounts } = access;
    const forever = await admin.createToken(BY, 'aud', 'nightly export', undefined);
    const brief = await admin.createToken(BY, 'view', 'one hour', time.now() + 3_600_000);
    expect(forever.token).toMatch(/^wa_[A-Za-z0-9_-]{43}$/);
    const dump = JSON.stringify(await sql`SELECT * FROM api_tokens`.execute(store.db));
    expect(dump).not.toContain(forever.token);
    expect(dump).not.toContain(forever.token.slice(3));
    expect(await accounts.tokenCaller(forever.token)).toMatchObject({ username: 'aud', via: 'token', credentialId: forever.id });
    expect(await accounts.tokenCaller(brief.token)).toMatchObject({ username: 'view' });
    expect(await accounts.tokenCaller(forever.token.slice(0, -1) + (forever.token.endsWith('A') ? 'B' : 'A'))).toBeUndefined();
    expect(await accounts.tokenCaller(forever.token.slice(3))).toBeUndefined();
    // a session token is no bearer token, nor the other way round
    expect(await accounts.sessionCaller(forever.token)).toBeUndefined();

    time.advance(3_600_000);
    expect(await accounts.tokenCaller(brief.token)).toBeUndefined();

    await admin.setDisabled(BY, 'aud', true);
    expect(await accounts.tokenCaller(forever.token)).toBeUndefined();
    await admin.setDisabled(BY, 'aud', false);
    expect(await accounts.tokenCaller(forever.token)).toBeDefined();
    await admin.revokeToken(BY, forever.id);
    expect(await accounts.tokenCaller(forever.token)).toBeUndefined();
    await expect(admin.revokeToken(BY, 9999)).rejects.toMatchObject({ code: 'TOKEN_NOT_FOUND' });
    const listed = await admin.listTokens();
    expect(listed.map((t) => [t.username, t.name, t.revokedAt !== null])).toEqual([
      ['aud', 'nightly export', true],
      ['view', 'one hour', false],
    ]);
  });

  it('wrote one audit row for every change, by the operator, and the chain holds', async () => {
    const rows = await store.db.selectFrom('audit_log').select(['username', 'role', 'action', 'query']).orderBy('id').execute();
    expect(rows.every((r) => r.username === BY.username && r.role === null)).toBe(true);
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining(['users.add', 'grants.add', 'grants.revoke', 'users.passwd', 'users.disable', 'users.enable', 'tokens.create', 'tokens.revoke', 'settings.set']),
    );
    // no password and no token ever reaches the log
    const text = JSON.stringify(rows);
    expect(text).not.toContain(PW);
    expect(text).not.toContain('another long password');
    expect(text).not.toContain('wa_');
    expect(await access.audit.verify()).toEqual({ ok: true, rows: rows.length });
  });
});
