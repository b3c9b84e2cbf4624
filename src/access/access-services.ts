import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.ts';
import { AccountAdmin } from './account-admin.ts';
import { Accounts } from './accounts.ts';
import { AuditLog } from './audit-log.ts';
import { argon2Hasher, type PasswordHasher } from './passwords.ts';

/** The access services over one store: signing in, managing accounts, and the audit log. */
export interface AccessServices {
  readonly accounts: Accounts;
  readonly admin: AccountAdmin;
  readonly audit: AuditLog;
}

/** Builds the access services; one hasher serves both, so its dummy hash is made once. */
export function accessServices(db: Kysely<Database>, options: { hasher?: PasswordHasher; now?: () => number; touchIntervalMs?: number } = {}): AccessServices {
  const hasher = options.hasher ?? argon2Hasher();
  const audit = new AuditLog(db, { now: options.now });
  return {
    accounts: new Accounts(db, { hasher, now: options.now, touchIntervalMs: options.touchIntervalMs }),
    admin: new AccountAdmin(db, audit, { hasher, now: options.now }),
    audit,
  };
}
