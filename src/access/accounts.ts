/**
 * Signing in: passwords with lockout, sessions kept in the database (so they can be ended), API
 * tokens, and signing in with WeCom. Implements the Authenticator the HTTP edge asks per request.
 */
import type { Kysely, Selectable } from 'kysely';
import { inTransaction } from '../store/in-transaction.ts';
import type { Database, UserTable } from '../store/schema.ts';
import { clip } from '../runtime/clip.ts';
import { type AccessSettings, readAccessSettings } from './access-settings.ts';
import type { Authenticator, Caller, LoginResult, RequestOrigin } from './caller.ts';
import { isApiTokenShape, isSessionTokenShape, newSessionToken, secretHash } from './credentials.ts';
import { argon2Hasher, dummyHash, type PasswordHasher } from './passwords.ts';
import { scopeOf } from './scope.ts';
import { storableText } from './storable-text.ts';

/** Failed password logins in a row that lock an account. */
export const LOCKOUT_FAILURES = 10;

/** An id no user has (ids start at 1). */
const NO_USER = 0;

/** How often a session's or token's last use is written: reads within it cost no write. */
export const DEFAULT_TOUCH_INTERVAL_MS = 60_000;

export interface AccountsOptions {
  readonly hasher?: PasswordHasher;
  /** the clock, in ms (tests move it) */
  readonly now?: () => number;
  readonly touchIntervalMs?: number;
}

type UserRow = Pick<Selectable<UserTable>, 'id' | 'username' | 'role'>;

/** The caller a user is, with its scope read from its grants now. */
export async function callerOf(db: Kysely<Database>, user: UserRow, via: Caller['via'], credentialId: number): Promise<Caller> {
  const grants = await db.selectFrom('grants').select(['kind', 'corpid', 'department_id', 'conversation']).where('user_id', '=', user.id).execute();
  const { scope, mayExport } = scopeOf(user.role, grants);
  return Object.freeze({ userId: Number(user.id), username: user.username, role: user.role, scope, mayExport, via, credentialId: Number(credentialId) });
}

export class Accounts implements Authenticator {
  readonly #db: Kysely<Database>;
  readonly #hasher: PasswordHasher;
  readonly #dummy: () => Promise<string>;
  readonly #now: () => number;
  readonly #touchMs: number;

  constructor(db: Kysely<Database>, options: AccountsOptions = {}) {
    this.#db = db;
    this.#hasher = options.hasher ?? argon2Hasher();
    this.#dummy = dummyHash(this.#hasher);
    this.#now = options.now ?? Date.now;
    this.#touchMs = options.touchIntervalMs ?? DEFAULT_TOUCH_INTERVAL_MS;
  }

  /**
   * Every path checks exactly one argon2 hash (the user's, or a dummy for an unknown user), so the
   * time taken does not tell whether the user exists. A locked account answers `locked` whatever
   * the password, so guessing on during the lock learns nothing; `disabled` is told only to whom
   * knows the password.
   */
  async login(username: string, password: string, origin: RequestOrigin): Promise<LoginResult> {
    // made before the lookup, so that the first login after start pays for it whoever it names
    const dummy = await this.#dummy();
    const user = await this.#db
      .selectFrom('users')
      .select(['id', 'username', 'role', 'password_hash', 'disabled', 'locked_until'])
      .where('username', '=', clip(username, 64))
      .executeTakeFirst();
    const passwordHash = user?.password_hash ?? dummy;
    const matches = await this.#hasher.verify(passwordHash, password);
    if (!user) {
      // the same statements as a wrong password's count, matching no row: no write-time difference either
      await this.#recordFailure(NO_USER);
      return { ok: false, reason: 'refused' };
    }
    const now = this.#now();
    if (user.locked_until !== null && Number(user.locked_until) > now) return { ok: false, reason: 'locked' };
    if (!matches) {
      await this.#recordFailure(user.id);
      return { ok: false, reason: 'refused' };
    }
    if (user.disabled) return { ok: false, reason: 'disabled' };
    return this.#openSession(user, origin, true);
  }

  async loginWithWecom(corpid: string, wecomUserid: string, origin: RequestOrigin): Promise<LoginResult> {
    const user = await this.#db
      .selectFrom('users')
      .select(['id', 'username', 'role', 'disabled'])
      .where('wecom_corpid', '=', clip(corpid, 64))
      .where('wecom_userid', '=', clip(wecomUserid, 64))
      .executeTakeFirst();
    if (!user) return { ok: false, reason: 'refused' };
    if (user.disabled) return { ok: false, reason: 'disabled' };
    // WeCom proved who this is: the password lockout (a defence against guessing) does not apply
    return this.#openSession(user, origin, false);
  }

  async sessionCaller(sessionToken: string): Promise<Caller | undefined> {
    if (!isSessionTokenShape(sessionToken)) return undefined;
    const row = await this.#db
      .selectFrom('sessions as s')
      .innerJoin('users as u', 'u.id', 's.user_id')
      .select(['s.id as sessionId', 's.last_seen', 's.idle_ms', 's.expires_at', 's.revoked_at', 'u.id', 'u.username', 'u.role', 'u.disabled'])
      .where('s.token_hash', '=', secretHash(sessionToken))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.disabled) return undefined;
    const now = this.#now();
    const lastSeen = Number(row.last_seen);
    if (now >= Number(row.expires_at) || now >= lastSeen + Number(row.idle_ms)) return undefined;
    // Written at most once per touch interval: the idle clock then runs from the last write, so a
    // session may end up to one interval early, never late.
    if (now - lastSeen >= this.#touchMs) {
      await this.#db.updateTable('sessions').set({ last_seen: now }).where('id', '=', row.sessionId).where('revoked_at', 'is', null).execute();
    }
    return callerOf(this.#db, row, 'session', row.sessionId);
  }

  async tokenCaller(bearerToken: string): Promise<Caller | undefined> {
    if (!isApiTokenShape(bearerToken)) return undefined;
    const row = await this.#db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id as tokenId', 't.expires_at', 't.revoked_at', 't.last_used', 'u.id', 'u.username', 'u.role', 'u.disabled'])
      .where('t.token_hash', '=', secretHash(bearerToken))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || row.disabled) return undefined;
    const now = this.#now();
    if (row.expires_at !== null && now >= Number(row.expires_at)) return undefined;
    if (row.last_used === null || now - Number(row.last_used) >= this.#touchMs) {
      await this.#db.updateTable('api_tokens').set({ last_used: now }).where('id', '=', row.tokenId).execute();
    }
    return callerOf(this.#db, row, 'token', row.tokenId);
  }

  async endSession(sessionToken: string): Promise<void> {
    if (!isSessionTokenShape(sessionToken)) return;
    await this.#db.updateTable('sessions').set({ revoked_at: this.#now() }).where('token_hash', '=', secretHash(sessionToken)).where('revoked_at', 'is', null).execute();
  }

  /** The access settings in force (the edge asks `requireReason` before a viewer opens a conversation or searches). */
  settings(): Promise<AccessSettings> {
    return readAccessSettings(this.#db);
  }

  async #recordFailure(userId: number): Promise<void> {
    const now = this.#now();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('users')
        .set((eb) => ({ failed_logins: eb('failed_logins', '+', 1) }))
        .where('id', '=', userId)
        .execute();
      const row = await trx.selectFrom('users').select('failed_logins').where('id', '=', userId).executeTakeFirst();
      if (!row || Number(row.failed_logins) < LOCKOUT_FAILURES) return;
      const { lockoutMs } = await readAccessSettings(trx);
      // the count starts again, so after the lock another 10 failures are needed to lock again
      await trx
        .updateTable('users')
        .set({ failed_logins: 0, locked_until: now + lockoutMs })
        .where('id', '=', userId)
        .execute();
    });
  }

  async #openSession(user: UserRow, origin: RequestOrigin, passwordLogin: boolean): Promise<LoginResult> {
    const now = this.#now();
    const settings = await readAccessSettings(this.#db);
    const token = newSessionToken();
    const expiresAt = now + settings.sessionAbsoluteMs;
    const sessionId = await inTransaction(this.#db, async (trx) => {
      if (passwordLogin) await trx.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', user.id).execute();
      await trx
        .insertInto('sessions')
        .values({
          user_id: user.id,
          token_hash: secretHash(token),
          created_at: now,
          last_seen: now,
          idle_ms: settings.sessionIdleMs,
          expires_at: expiresAt,
          revoked_at: null,
          ip: storableText(origin.ip, 64),
          user_agent: storableText(origin.userAgent, 255),
        })
        .execute();
      // by the unique hash: the one id lookup every dialect has (MySQL has no RETURNING)
      const row = await trx.selectFrom('sessions').select('id').where('token_hash', '=', secretHash(token)).executeTakeFirstOrThrow();
      return Number(row.id);
    });
    return { ok: true, caller: await callerOf(this.#db, user, 'session', sessionId), sessionToken: token, expiresAt };
  }
}
