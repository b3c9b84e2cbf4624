/**
 * A keyset-paged list for a page: the items so far, the next cursor, and the loading and error
 * states every page shows. `reload` starts over (a new query or filter) and drops an answer still on
 * its way for the old one; `more` appends the next page.
 */
import { ref, shallowRef, type Ref } from 'vue';
import { ApiError } from './client.ts';

export interface Paged<T, C> {
  items: Ref<T[]>;
  next: Ref<C | null>;
  loading: Ref<boolean>;
  /** the last failure, or null */
  error: Ref<ApiError | Error | null>;
  /** a first page has come back (so an empty list means empty, not "not asked yet") */
  loaded: Ref<boolean>;
  reload: () => Promise<void>;
  more: () => Promise<void>;
}

export function usePaged<T, C>(fetchPage: (cursor: C | undefined, signal: AbortSignal) => Promise<{ items: T[]; next: C | null }>): Paged<T, C> {
  const items = shallowRef<T[]>([]);
  const next = ref<C | null>(null) as Ref<C | null>;
  const loading = ref(false);
  const error = shallowRef<ApiError | Error | null>(null);
  const loaded = ref(false);
  let current: AbortController | undefined;

  async function load(cursor: C | undefined): Promise<void> {
    current?.abort();
    const controller = new AbortController();
    current = controller;
    loading.value = true;
    error.value = null;
    try {
      const page = await fetchPage(cursor, controller.signal);
      if (controller.signal.aborted) return;
      items.value = cursor === undefined ? page.items : [...items.value, ...page.items];
      next.value = page.next;
      loaded.value = true;
    } catch (err) {
      if (controller.signal.aborted) return;
      error.value = err instanceof Error ? err : new Error(String(err));
    } finally {
      if (current === controller) loading.value = false;
    }
  }

  return {
    items,
    next,
    loading,
    error,
    loaded,
    reload: () => {
      items.value = [];
      next.value = null;
      loaded.value = false;
      return load(undefined);
    },
    more: () => (next.value === null || loading.value ? Promise.resolve() : load(next.value)),
  };
}
