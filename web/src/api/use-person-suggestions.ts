/**
 * The sender picker's data: members and customers of a corp that a typed text finds (id, name,
 * pinyin or initials), from the directory routes `GET /api/corps/:corpid/members?q=` and
 * `…/customers?q=`. Lookups wait for the typing to pause, and an answer to an older text is dropped,
 * so the list always belongs to what the box says. Directory reads need no access reason.
 */
import { ref, type Ref, watch, onBeforeUnmount } from 'vue';
import { findPeople } from '../reading/api.ts';

/** A member or customer the picker offers. */
export interface PersonSuggestion {
  kind: 'member' | 'customer';
  id: string;
  name: string | null;
}

/** How long the typing pauses before a lookup, in milliseconds. */
export const LOOKUP_DELAY_MS = 250;
/** Suggestions of each kind: the picker lists members first, then customers. */
const PER_KIND = 8;

async function lookUp(corpid: string, text: string, signal?: AbortSignal): Promise<PersonSuggestion[]> {
  const [members, customers] = await Promise.all([findPeople(corpid, 'members', text, signal, PER_KIND), findPeople(corpid, 'customers', text, signal, PER_KIND)]);
  return [
    ...members.people.map((p) => ({ kind: 'member' as const, id: p.id, name: p.name })),
    ...customers.people.map((p) => ({ kind: 'customer' as const, id: p.id, name: p.name })),
  ];
}

/**
 * Who a `from` filter names: the member or customer whose id it is, else the one person whose name
 * it is (a name typed and not chosen); null when the directory of `corpid` names no one by it.
 */
export async function personFor(corpid: string, from: string, signal?: AbortSignal): Promise<PersonSuggestion | null> {
  const found = await lookUp(corpid, from, signal);
  const named = found.filter((p) => p.name === from);
  return found.find((p) => p.id === from) ?? (named.length === 1 ? named[0]! : null);
}

/**
 * Suggestions for `text` in `corpid`, debounced. `state` is idle with no text, loading while a lookup
 * waits or runs, ready with its answer, error when the lookup failed.
 */
export function usePersonSuggestions(corpid: Ref<string>, text: Ref<string>) {
  const suggestions = ref<PersonSuggestion[]>([]);
  const state = ref<'idle' | 'loading' | 'ready' | 'error'>('idle');
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: AbortController | undefined;

  function cancel(): void {
    clearTimeout(timer);
    inFlight?.abort();
    inFlight = undefined;
  }

  watch([corpid, text], ([corp, typed]) => {
    cancel();
    const q = typed.trim();
    if (!corp || !q) {
      suggestions.value = [];
      state.value = 'idle';
      return;
    }
    state.value = 'loading';
    timer = setTimeout(() => {
      const controller = new AbortController();
      inFlight = controller;
      lookUp(corp, q, controller.signal).then(
        (found) => {
          if (controller.signal.aborted) return;
          suggestions.value = found;
          state.value = 'ready';
        },
        () => {
          if (controller.signal.aborted) return;
          suggestions.value = [];
          state.value = 'error';
        },
      );
    }, LOOKUP_DELAY_MS);
  });
  onBeforeUnmount(cancel);

  return { suggestions, state, cancel };
}
