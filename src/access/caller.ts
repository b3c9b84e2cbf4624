/**
 * The contract between the accounts store (who may sign in, and what they may read) and the HTTP
 * edge (which asks, per request, who is calling). The edge never reads the accounts tables itself.
 */
import type { ReadScope } from './read-scope.ts';

export type Role = 'admin' | 'auditor' | 'viewer';
export const ROLES: readonly Role[] = Object.freeze(['admin', 'auditor', 'viewer']);

/** Who is making a request, once signed in by a session cookie or a bearer token. */
export interface Caller {
  readonly userId: number;
  readonly username: string;
  readonly role: Role;
  /** what this caller may read; every read function applies it in its own SQL */
  readonly scope: ReadScope;
  /** auditors always; viewers only when granted */
  readonly mayExport: boolean;
  readonly via: 'session' | 'token';
  /** the session's or token's id (never its secret): for the audit row and for signing out */
  readonly credentialId: number;
}

/** Where a request came from, for lockout, rate limits and the audit row. */
export interface RequestOrigin {
  readonly ip: string;
  readonly userAgent: string;
}

export type LoginResult =
  | { readonly ok: true; readonly caller: Caller; readonly sessionToken: string; readonly expiresAt: number }
  /** `refused` covers an unknown user and a wrong password alike, so the answer does not tell them apart */
  | { readonly ok: false; readonly reason: 'refused' | 'locked' | 'disabled' };

/** What the HTTP edge needs of the accounts store. */
export interface Authenticator {
  /** Checks a password and opens a session. Takes the same time for an unknown user as for a known one. */
  login(username: string, password: string, origin: RequestOrigin): Promise<LoginResult>;
  /** The caller of a session token, or undefined when it is unknown, revoked or expired (idle or in all); a valid one is touched. */
  sessionCaller(sessionToken: string): Promise<Caller | undefined>;
  /** The caller of an API token (`Authorization: Bearer`), or undefined when unknown, revoked, expired or its user disabled. */
  tokenCaller(bearerToken: string): Promise<Caller | undefined>;
  /** Ends a session (sign out). */
  endSession(sessionToken: string): Promise<void>;
  /** The caller whose WeCom userid in `corpid` is bound to an account (sign in with WeCom), with a new session. */
  loginWithWecom(corpid: string, wecomUserid: string, origin: RequestOrigin): Promise<LoginResult>;
}

/** One row of the audit log, as the edge describes a request; the store adds time, chain and id. */
export interface AuditEntry {
  /** undefined for a failed login of an unknown user */
  readonly userId: number | undefined;
  readonly username: string;
  readonly role: Role | undefined;
  /** e.g. 'login', 'login_failed', 'logout', 'conversations.list', 'messages.read', 'media.read', 'search', 'directory.read', 'users.add', 'grants.change' */
  readonly action: string;
  readonly corpid: string | undefined;
  readonly conversation: string | undefined;
  /** the query and filters of a search or list, as given */
  readonly query: Readonly<Record<string, unknown>> | undefined;
  /** how many items the answer returned */
  readonly items: number | undefined;
  /** a reason the caller gave (require_reason) */
  readonly reason: string | undefined;
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
  readonly requestId: string | undefined;
}

/** The append-only audit log. `record` resolves once the row is committed; when it rejects, the request must fail. */
export interface AuditTrail {
  record(entry: AuditEntry): Promise<void>;
}
