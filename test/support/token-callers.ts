/**
 * Callers for route tests that sign in by bearer token, each with the scope the test gives it,
 * without the accounts store: `TokenCallers` answers a token with its caller and refuses every
 * other way in.
 */
import type { Authenticator, Caller, LoginResult } from '../../src/access/caller.ts';
import type { ReadScope } from '../../src/access/read-scope.ts';

export class TokenCallers implements Authenticator {
  constructor(private readonly callers: Record<string, Caller>) {}
  async login(): Promise<LoginResult> {
    return { ok: false, reason: 'refused' };
  }
  async sessionCaller(): Promise<Caller | undefined> {
    return undefined;
  }
  async tokenCaller(token: string): Promise<Caller | undefined> {
    return this.callers[token];
  }
  async endSession(): Promise<void> {}
  async loginWithWecom(): Promise<LoginResult> {
    return { ok: false, reason: 'refused' };
  }
}

/** A caller who came with an API token. */
export const tokenCaller = (userId: number, username: string, role: Caller['role'], scope: ReadScope): Caller => ({
  userId,
  username,
  role,
  scope,
  mayExport: false,
  via: 'token',
  credentialId: userId,
});
