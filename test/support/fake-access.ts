/**
 * Small in-memory stand-ins for the accounts store's Authenticator and AuditTrail
 * (src/access/caller.ts), for tests of the HTTP edge. They keep the contract's rules that the edge
 * relies on: a refused login does not say whether the user exists, sessions end, tokens resolve.
 */
import { randomBytes } from 'node:crypto';
import { EVERYTHING, NOTHING } from '../../src/access/read-scope.ts';
import type { AuditEntry, AuditTrail, Authenticator, Caller, LoginResult, RequestOrigin, Role } from '../../src/access/caller.ts';

export interface FakeUser {
  readonly username: string;
  readonly password: string;
  readonly role: Role;
  readonly state?: 'active' | 'locked' | 'disabled';
}

export class FakeAuthenticator implements Authenticator {
  readonly sessions = new Map<string, Caller>();
  readonly tokens = new Map<string, Caller>();
  readonly logins: Array<{ username: string; origin: RequestOrigin }> = [];
  private nextId = 1;

  constructor(private readonly users: readonly FakeUser[]) {}

  private caller(user: FakeUser, via: Caller['via']): Caller {
    return {
      userId: this.users.indexOf(user) + 1,
      username: user.username,
      role: user.role,
      scope: user.role === 'viewer' ? NOTHING : EVERYTHING,
      mayExport: user.role !== 'viewer',
      via,
      credentialId: this.nextId++,
    };
  }

  async login(username: string, password: string, origin: RequestOrigin): Promise<LoginResult> {
    this.logins.push({ username, origin });
    const user = this.users.find((u) => u.username === username);
    if (!user || user.password !== password) return { ok: false, reason: 'refused' };
    if (user.state === 'locked' || user.state === 'disabled') return { ok: false, reason: user.state };
    const sessionToken = randomBytes(24).toString('base64url');
    const caller = this.caller(user, 'session');
    this.sessions.set(sessionToken, caller);
    return { ok: true, caller, sessionToken, expiresAt: Date.now() + 12 * 3600_000 };
  }

  async sessionCaller(sessionToken: string): Promise<Caller | undefined> {
    return this.sessions.get(sessionToken);
  }

  async tokenCaller(bearerToken: string): Promise<Caller | undefined> {
    return this.tokens.get(bearerToken);
  }

  async endSession(sessionToken: string): Promise<void> {
    this.sessions.delete(sessionToken);
  }

  async loginWithWecom(): Promise<LoginResult> {
    return { ok: false, reason: 'refused' };
  }

  /** Issues an API token for `username` (as `tokens create` would) and returns it. */
  issueToken(username: string): string {
    const user = this.users.find((u) => u.username === username);
    if (!user) throw new Error(`no fake user ${username}`);
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, this.caller(user, 'token'));
    return token;
  }
}

/** An audit log in memory; `failWith` makes every `record` reject, as a database that refuses the row would. */
export class MemoryAuditTrail implements AuditTrail {
  readonly entries: AuditEntry[] = [];
  failWith: Error | undefined;

  async record(entry: AuditEntry): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.entries.push(entry);
  }
}

/** A real audit log (`log`, the store's) that remembers what it took; `failWith` makes every `record` reject before the row is written. */
export class RecordingAudit implements AuditTrail {
  readonly entries: AuditEntry[] = [];
  failWith: Error | undefined;

  constructor(private readonly log: AuditTrail) {}

  async record(entry: AuditEntry): Promise<void> {
    if (this.failWith) throw this.failWith;
    await this.log.record(entry);
    this.entries.push(entry);
  }
}
