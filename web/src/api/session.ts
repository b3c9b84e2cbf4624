/**
 * Who is signed in, shared by every page: loaded once from `GET /api/me`, set by a sign-in, cleared
 * by a sign-out or by any 401 the API answers.
 */
import { ref } from 'vue';
import { apiGet, apiSend, ApiError } from './client.ts';

export interface Me {
  readonly username: string;
  readonly role: 'admin' | 'auditor' | 'viewer' | string;
}

/** undefined: not asked yet; null: nobody is signed in. */
export const me = ref<Me | null | undefined>(undefined);

/** Pages that show messages carry a watermark (on until the API says the setting is off). */
export const watermarkOn = ref(true);

export async function loadMe(): Promise<Me | null> {
  try {
    const answer = await apiGet<{ user: Me; watermark?: boolean }>('/api/me');
    me.value = answer.user;
    watermarkOn.value = answer.watermark !== false;
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    me.value = null;
  }
  return me.value;
}

export async function signIn(username: string, password: string): Promise<Me> {
  const answer = await apiSend<{ user: Me }>('POST', '/api/session', { username, password });
  me.value = answer.user;
  // the sign-in answer names the user only: the settings the UI follows come with /api/me
  await loadMe().catch(() => undefined);
  return answer.user;
}

export async function signOut(): Promise<void> {
  try {
    await apiSend<void>('DELETE', '/api/session');
  } finally {
    me.value = null;
  }
}
