/**
 * Managing accounts: users, their grants, API tokens and the access settings. Every change commits
 * together with its audit row, in one transaction, so no change is ever made without its trace and
 * no trace describes a change that did not happen.
 */
import type { Kysely } from 'kysely';
import { validateCorpId } from '../corps/corp-settings.ts';
import { ConflictError, NotFoundError, ValidationError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { ACCOUNT_ROLES, type GrantKind } from '../store/vocabulary.ts';
import { describeSettings, normalizeSetting, readAccessSettings } from './access-settings.ts';
import type { AuditLog } from './audit-log.ts';
import type { AuditEntry, Role } from './caller.ts';
import { newApiToken, secretHash } from './credentials.ts';
import { argon2Hasher, checkPasswordRules, type PasswordHasher } from './passwords.ts';

export type GrantSpec =
  | { readonly kind: 'corp'; readonly corpid: string }
  | { readonly kind: 'department'; readonly corpid: string; readonly departmentId: number }
  | { readonly kind: 'conversation'; readonly corpid: string; readonly conversation: string }
  | { readonly kind: 'export' };

/** Who makes a change, for its audit row: an account over HTTP, or the OS user at the command line (no role). */
export interface Actor {
  readonly username: string;
  readonly userId?: number;
  readonly role?: Role;
  readonly ip?: string;
  readonly userAgent?: string;
  readonly requestId?: string;
}

export interface NewUser {
  readonly username: string;
  readonly role: Role;
  readonly password: string;
  readonly grants: readonly GrantSpec[];
  readonly wecom?: { readonly corpid: string; readonly userid: string };
}

export interface UserSummary {
  readonly id: number;
  readonly username: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly lockedUntil: number | null;
  /** `CORPID:USERID` of the bound WeCom account */
  readonly wecom: string | null;
  /** each grant as the CLI writes it: `corp:ww1`, `department:ww1:12`, `conversation:ww1:room:…`, `export` */
  readonly grants: readonly string[];
  /** the same grants, by their parts (the HTTP API answers these) */
  readonly grantSpecs: readonly GrantSpec[];
  readonly createdAt: number;
  /** when its latest session opened (a password or WeCom sign-in); null when it never signed in */
  readonly lastLogin: number | null;
}

export interface TokenSummary {
  readonly id: number;
  readonly username: string;
  readonly name: string;
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly lastUsed: number | null;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const WECOM_USERID = /^[A-Za-z0-9_.@-]{1,64}$/;
const TOKEN_NAME = /^[\p{L}\p{N}][\p{L}\p{N} ._:-]{0,63}$/u;
const CONVERSATION = /^(room|pair):[^\u0000-\u001f]{1,395}$/;

/** Throws unless `username` is 1–64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit. */
export function validateUsername(username: string): string {
  if (!USERNAME.test(username))
    throw new ValidationError(
      'USERNAME_INVALID',
      `a username is 1–64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit; got ${JSON.stringify(username.slice(0, 80))}`,
    );
  return username;
}

export function validateRole(role: string): Role {
  if (!(ACCOUNT_ROLES as readonly string[]).includes(role))
    throw new ValidationError('ROLE_INVALID', `the role is admin, auditor or viewer, not ${JSON.stringify(role.slice(0, 40))}`);
  return role as Role;
}

/** Checks a grant's own form (the corp id, department id, conversation key). */
export function validateGrant(grant: GrantSpec): GrantSpec {
  if (grant.kind === 'export') return grant;
  validateCorpId(grant.corpid);
  if (grant.kind === 'department' && (!Number.isSafeInteger(grant.departmentId) || grant.departmentId < 1))
    throw new ValidationError('GRANT_INVALID', `a department id is a whole number ≥ 1, got ${grant.departmentId}`);
  if (grant.kind === 'conversation' && !CONVERSATION.test(grant.conversation))
    throw new ValidationError('GRANT_INVALID', `a conversation key starts with room: or pair: (as the archive shows it), got ${JSON.stringify(grant.conversation.slice(0, 80))}`);
  return grant;
}

/** Which grants a role takes: an admin reads everything, an auditor whole corps (and always exports). */
function checkGrantsForRole(role: Role, grants: readonly GrantSpec[]): void {
  if (role === 'admin' && grants.length > 0) throw new ValidationError('GRANT_INVALID', 'an admin reads everything and takes no grants');
  if (role === 'auditor') {
    const other = grants.find((g) => g.kind !== 'corp');
    if (other) throw new ValidationError('GRANT_INVALID', `an auditor reads whole corps and exports: give it --corp only, not a ${other.kind} grant`);
  }
}

export function formatGrant(row: { kind: GrantKind; corpid: string; department_id: number; conversation: string }): string {
  if (row.kind === 'export') return 'export';
  if (row.kind === 'corp') return `corp:${row.corpid}`;
  if (row.kind === 'department') return `department:${row.corpid}:${Number(row.department_id)}`;
  return `conversation:${row.corpid}:${row.conversation}`;
}

/** A grant row by its parts: the inverse of grantColumns. */
function grantSpecOf(row: { kind: GrantKind; corpid: string; department_id: number; conversation: string }): GrantSpec {
  if (row.kind === 'export') return { kind: 'export' };
  if (row.kind === 'corp') return { kind: 'corp', corpid: row.corpid };
  if (row.kind === 'department') return { kind: 'department', corpid: row.corpid, departmentId: Number(row.department_id) };
  return { kind: 'conversation', corpid: row.corpid, conversation: row.conversation };
}

function grantColumns(grant: GrantSpec): { kind: GrantKind; corpid: string; department_id: number; conversation: string } {
  return {
    kind: grant.kind,
    corpid: grant.kind === 'export' ? '' : grant.corpid,
    department_id: grant.kind === 'department' ? grant.departmentId : 0,
    conversation: grant.kind === 'conversation' ? grant.conversation : '',
  };
}

export class AccountAdmin {
  readonly #db: Kysely<Database>;
  readonly #audit: AuditLog;
  readonly #hasher: PasswordHasher;
  readonly #now: () => number;

  constructor(db: Kysely<Database>, audit: AuditLog, options: { hasher?: PasswordHasher; now?: () => number } = {}) {
    this.#db = db;
    this.#audit = audit;
    this.#hasher = options.hasher ?? argon2Hasher();
    this.#now = options.now ?? Date.now;
  }

  async addUser(by: Actor, user: NewUser): Promise<number> {
    const username = validateUsername(user.username);
    const role = validateRole(user.role);
    const grants = user.grants.map(validateGrant);
    checkGrantsForRole(role, grants);
    if (user.wecom) {
      validateCorpId(user.wecom.corpid);
      if (!WECOM_USERID.test(user.wecom.userid)) throw new ValidationError('WECOM_BINDING_INVALID', `a WeCom userid is 1–64 letters, digits, "_", ".", "@" or "-"`);
    }
    checkPasswordRules(username, user.password);
    const passwordHash = await this.#hasher.hash(user.password);
    const now = this.#now();
    return this.#change(by, async (trx) => {
      if (await trx.selectFrom('users').select('id').where('username', '=', username).executeTakeFirst())
        throw new ConflictError('USER_EXISTS', `an account named ${username} exists already`);
      if (user.wecom) {
        const bound = await trx
          .selectFrom('users')
          .select('username')
          .where('wecom_corpid', '=', user.wecom.corpid)
          .where('wecom_userid', '=', user.wecom.userid)
          .executeTakeFirst();
        if (bound) throw new ConflictError('WECOM_BINDING_TAKEN', `WeCom user ${user.wecom.corpid}:${user.wecom.userid} signs in as ${bound.username} already`);
      }
      await trx
        .insertInto('users')
        .values({
          username,
          role,
          password_hash: passwordHash,
          disabled: 0,
          failed_logins: 0,
          locked_until: null,
          wecom_corpid: user.wecom?.corpid ?? null,
          wecom_userid: user.wecom?.userid ?? null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const id = Number((await trx.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow()).id);
      await this.#insertGrants(trx, id, grants, now);
      const formatted = grants.map((g) => formatGrant(grantColumns(g)));
      return {
        result: id,
        entry: { action: 'users.add', query: { username, role, grants: formatted, ...(user.wecom ? { wecom: `${user.wecom.corpid}:${user.wecom.userid}` } : {}) } },
      };
    });
  }

  async listUsers(): Promise<UserSummary[]> {
    const users = await this.#db.selectFrom('users').selectAll().orderBy('username').execute();
    const grants = await this.#db.selectFrom('grants').select(['user_id', 'kind', 'corpid', 'department_id', 'conversation']).orderBy('id').execute();
    const logins = await this.#db
      .selectFrom('sessions')
      .select((eb) => ['user_id', eb.fn.max('created_at').as('last')])
      .groupBy('user_id')
      .execute();
    const lastLogin = new Map(logins.map((l) => [Number(l.user_id), Number(l.last)]));
    return users.map((u) => ({
      id: Number(u.id),
      username: u.username,
      role: u.role,
      disabled: Boolean(u.disabled),
      lockedUntil: u.locked_until === null ? null : Number(u.locked_until),
      wecom: u.wecom_corpid !== null && u.wecom_userid !== null ? `${u.wecom_corpid}:${u.wecom_userid}` : null,
      grants: grants.filter((g) => Number(g.user_id) === Number(u.id)).map(formatGrant),
      grantSpecs: grants.filter((g) => Number(g.user_id) === Number(u.id)).map(grantSpecOf),
      createdAt: Number(u.created_at),
      lastLogin: lastLogin.get(Number(u.id)) ?? null,
    }));
  }

  /**
   * Disabling ends the user's sessions and stops its tokens at once (they work again when enabled);
   * returns the sessions ended. An account over HTTP cannot disable itself: one click would shut out
   * the admin making it (the command line, which has no account, can).
   */
  async setDisabled(by: Actor, username: string, disabled: boolean): Promise<number> {
    return this.#change(by, async (trx) => {
      const id = await this.#userId(trx, username);
      if (disabled && by.userId === id) throw new ValidationError('USER_DISABLE_SELF', 'you cannot disable the account you are signed in with; ask another admin');
      const now = this.#now();
      await trx
        .updateTable('users')
        .set({ disabled: disabled ? 1 : 0, updated_at: now })
        .where('id', '=', id)
        .execute();
      const ended = disabled ? await this.#endSessions(trx, id, now) : 0;
      return { result: ended, entry: { action: disabled ? 'users.disable' : 'users.enable', query: { username } } };
    });
  }

  /** A new password ends the user's sessions (its API tokens are other credentials and stay) and lifts a lockout. */
  async setPassword(by: Actor, username: string, password: string): Promise<number> {
    checkPasswordRules(username, password);
    const passwordHash = await this.#hasher.hash(password);
    return this.#change(by, async (trx) => {
      const id = await this.#userId(trx, username);
      const now = this.#now();
      await trx.updateTable('users').set({ password_hash: passwordHash, failed_logins: 0, locked_until: null, updated_at: now }).where('id', '=', id).execute();
      return { result: await this.#endSessions(trx, id, now), entry: { action: 'users.passwd', query: { username } } };
    });
  }

  /** Adds grants (those held already are kept as they are); returns how many were new. */
  async grant(by: Actor, username: string, grants: readonly GrantSpec[]): Promise<number> {
    const checked = grants.map(validateGrant);
    if (checked.length === 0) throw new ValidationError('GRANT_INVALID', 'name what to grant: --corp, --department, --conversation or --export');
    return this.#change(by, async (trx) => {
      const user = await this.#user(trx, username);
      checkGrantsForRole(user.role, checked);
      const held = new Set((await trx.selectFrom('grants').select(['kind', 'corpid', 'department_id', 'conversation']).where('user_id', '=', user.id).execute()).map(formatGrant));
      const fresh = checked.filter((g) => !held.has(formatGrant(grantColumns(g))));
      await this.#insertGrants(trx, user.id, fresh, this.#now());
      return { result: fresh.length, entry: { action: 'grants.add', query: { username, grants: fresh.map((g) => formatGrant(grantColumns(g))) } } };
    });
  }

  /** Removes exactly the grants named; returns how many the user held. */
  async revoke(by: Actor, username: string, grants: readonly GrantSpec[]): Promise<number> {
    const checked = grants.map(validateGrant);
    if (checked.length === 0) throw new ValidationError('GRANT_INVALID', 'name what to revoke: --corp, --department, --conversation or --export');
    return this.#change(by, async (trx) => {
      const id = await this.#userId(trx, username);
      let removed = 0;
      for (const g of checked) {
        const c = grantColumns(g);
        const r = await trx
          .deleteFrom('grants')
          .where('user_id', '=', id)
          .where('kind', '=', c.kind)
          .where('corpid', '=', c.corpid)
          .where('department_id', '=', c.department_id)
          .where('conversation', '=', c.conversation)
          .executeTakeFirst();
        removed += Number(r.numDeletedRows);
      }
      return { result: removed, entry: { action: 'grants.revoke', query: { username, grants: checked.map((g) => formatGrant(grantColumns(g))) } } };
    });
  }

  /** A new API token of `username`: the token is returned this once and only its hash is stored. */
  async createToken(by: Actor, username: string, name: string, expiresAt: number | undefined): Promise<{ id: number; token: string }> {
    if (!TOKEN_NAME.test(name))
      throw new ValidationError('TOKEN_NAME_INVALID', 'a token name is 1–64 letters, digits, spaces, ".", "_", ":" or "-", starting with a letter or digit');
    const now = this.#now();
    if (expiresAt !== undefined && expiresAt <= now) throw new ValidationError('TIME_RANGE_EMPTY', 'the token would expire before it is made; give a later --expires');
    const token = newApiToken();
    return this.#change(by, async (trx) => {
      const userId = await this.#userId(trx, username);
      const tokenHash = secretHash(token);
      await trx
        .insertInto('api_tokens')
        .values({ user_id: userId, name, token_hash: tokenHash, created_at: now, expires_at: expiresAt ?? null, revoked_at: null, last_used: null })
        .execute();
      const id = Number((await trx.selectFrom('api_tokens').select('id').where('token_hash', '=', tokenHash).executeTakeFirstOrThrow()).id);
      return { result: { id, token }, entry: { action: 'tokens.create', query: { username, name, tokenId: id, expiresAt: expiresAt ?? null } } };
    });
  }

  async listTokens(): Promise<TokenSummary[]> {
    const rows = await this.#db
      .selectFrom('api_tokens as t')
      .innerJoin('users as u', 'u.id', 't.user_id')
      .select(['t.id', 'u.username', 't.name', 't.created_at', 't.expires_at', 't.revoked_at', 't.last_used'])
      .orderBy('t.id')
      .execute();
    const n = (v: number | null) => (v === null ? null : Number(v));
    return rows.map((r) => ({
      id: Number(r.id),
      username: r.username,
      name: r.name,
      createdAt: Number(r.created_at),
      expiresAt: n(r.expires_at),
      revokedAt: n(r.revoked_at),
      lastUsed: n(r.last_used),
    }));
  }

  async revokeToken(by: Actor, id: number): Promise<void> {
    await this.#change(by, async (trx) => {
      const row = await trx.selectFrom('api_tokens').select(['id', 'revoked_at']).where('id', '=', id).executeTakeFirst();
      if (!row) throw new NotFoundError('TOKEN_NOT_FOUND', `there is no API token ${id}; \`wecom-archive tokens list\` shows them`);
      if (row.revoked_at === null) await trx.updateTable('api_tokens').set({ revoked_at: this.#now() }).where('id', '=', id).execute();
      return { result: undefined, entry: { action: 'tokens.revoke', query: { tokenId: id } } };
    });
  }

  /** Sets an access setting; returns the value as stored. */
  async setSetting(by: Actor, name: string, value: string): Promise<string> {
    const stored = normalizeSetting(name, value);
    return this.#change(by, async (trx) => {
      const now = this.#now();
      const exists = await trx.selectFrom('settings').select('name').where('name', '=', name).executeTakeFirst();
      if (exists) await trx.updateTable('settings').set({ value: stored, updated_at: now }).where('name', '=', name).execute();
      else await trx.insertInto('settings').values({ name, value: stored, updated_at: now }).execute();
      return { result: stored, entry: { action: 'settings.set', query: { name, value: stored } } };
    });
  }

  async settings(): Promise<Array<{ name: string; value: string }>> {
    return describeSettings(await readAccessSettings(this.#db));
  }

  /**
   * Runs a change and appends its audit row in one transaction. The audit head is locked first: on
   * SQLite that takes the write lock before anything is read, so a writer in another process makes
   * this one wait instead of failing on a stale snapshot.
   */
  #change<T>(by: Actor, fn: (trx: Kysely<Database>) => Promise<{ result: T; entry: Pick<AuditEntry, 'action' | 'query'> }>): Promise<T> {
    return this.#db.transaction().execute(async (trx) => {
      await this.#audit.lockHead(trx);
      const { result, entry } = await fn(trx);
      await this.#audit.append(trx, {
        userId: by.userId,
        username: by.username,
        role: by.role,
        action: entry.action,
        corpid: undefined,
        conversation: undefined,
        query: entry.query,
        items: undefined,
        reason: undefined,
        ip: by.ip,
        userAgent: by.userAgent,
        requestId: by.requestId,
      });
      return result;
    });
  }

  async #user(trx: Kysely<Database>, username: string): Promise<{ id: number; role: Role }> {
    const row = await trx.selectFrom('users').select(['id', 'role']).where('username', '=', username).executeTakeFirst();
    if (!row) throw new NotFoundError('USER_NOT_FOUND', `there is no account ${JSON.stringify(username.slice(0, 64))}; \`wecom-archive users list\` shows them`);
    return { id: Number(row.id), role: row.role };
  }

  async #userId(trx: Kysely<Database>, username: string): Promise<number> {
    return (await this.#user(trx, username)).id;
  }

  async #insertGrants(trx: Kysely<Database>, userId: number, grants: readonly GrantSpec[], now: number): Promise<void> {
    const unique = new Map(grants.map((g) => [formatGrant(grantColumns(g)), grantColumns(g)]));
    if (unique.size === 0) return;
    await trx
      .insertInto('grants')
      .values([...unique.values()].map((c) => ({ user_id: userId, ...c, created_at: now })))
      .execute();
  }

  async #endSessions(trx: Kysely<Database>, userId: number, now: number): Promise<number> {
    const r = await trx.updateTable('sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }
}
