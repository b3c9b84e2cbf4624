/**
 * Accounts and grants for the operations page (admins only): the `/api/users` routes
 * (src/api/user-routes.ts), typed as they answer, and `useUsers`, the list with its loading and
 * error states that each change replaces with the account as the API answers it afterwards.
 */
import { shallowRef } from 'vue';
import { apiGet, apiSend, segment } from './client.ts';

export type Role = 'admin' | 'auditor' | 'viewer';

export type Grant =
  | { kind: 'corp'; corpid: string }
  | { kind: 'department'; corpid: string; departmentId: number }
  | { kind: 'conversation'; corpid: string; conversation: string }
  | { kind: 'export' };

export interface UserEntry {
  username: string;
  role: Role;
  disabled: boolean;
  lockedUntil: number | null;
  /** CORPID:USERID of the WeCom account that signs in as this one */
  wecom: string | null;
  grants: Grant[];
  createdAt: number;
  lastLogin: number | null;
}

export interface NewUser {
  username: string;
  role: Role;
  password: string;
  grants?: Grant[];
  /** the WeCom account that signs in as this one (sign in with WeCom) */
  wecom?: { corpid: string; userid: string };
}

const base = (username: string) => `/api/users/${segment(username)}`;

export function listUsers(): Promise<{ users: UserEntry[] }> {
  return apiGet('/api/users');
}

export function addUser(user: NewUser): Promise<{ user: UserEntry }> {
  return apiSend('POST', '/api/users', user);
}

export function setDisabled(username: string, disabled: boolean): Promise<{ user: UserEntry; sessionsEnded: number }> {
  return apiSend('POST', `${base(username)}/${disabled ? 'disable' : 'enable'}`, {});
}

export function addGrant(username: string, grant: Grant): Promise<{ user: UserEntry; changed: number }> {
  return apiSend('POST', `${base(username)}/grants`, grant);
}

export function revokeGrant(username: string, grant: Grant): Promise<{ user: UserEntry; changed: number }> {
  return apiSend('DELETE', `${base(username)}/grants`, grant);
}

/** A grant's identity, for keys and for matching: the form the CLI writes. */
export function grantKey(grant: Grant): string {
  switch (grant.kind) {
    case 'export':
      return 'export';
    case 'corp':
      return `corp:${grant.corpid}`;
    case 'department':
      return `department:${grant.corpid}:${grant.departmentId}`;
    default:
      return `conversation:${grant.corpid}:${grant.conversation}`;
  }
}

/** The accounts, loaded on demand; `replace` puts an account the API answered after a change in its place (or adds it). */
export function useUsers() {
  const users = shallowRef<UserEntry[]>([]);
  const loading = shallowRef(false);
  const loaded = shallowRef(false);
  const error = shallowRef<Error | null>(null);

  async function reload(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      users.value = (await listUsers()).users;
      loaded.value = true;
    } catch (err) {
      error.value = err instanceof Error ? err : new Error(String(err));
    } finally {
      loading.value = false;
    }
  }

  function replace(user: UserEntry): void {
    const others = users.value.filter((u) => u.username !== user.username);
    users.value = [...others, user].sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  }

  return { users, loading, loaded, error, reload, replace };
}
