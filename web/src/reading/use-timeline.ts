/**
 * A conversation's messages as the timeline holds them: pages loaded either way from the cursors
 * the API gives (`before` for older, `after` for newer), or a fresh window around a message or a
 * time. Only one load runs at a time; a load begun for another conversation or window is dropped.
 */
import { computed, ref, shallowRef } from 'vue';
import { messagePage, type PageAnchor } from './api.ts';
import { shownMessage, type ShownMessage } from './adapt.ts';

export type TimelineState = 'idle' | 'loading' | 'ready' | 'error';

export function useTimeline(corpid: () => string, conversation: () => string) {
  const items = shallowRef<ShownMessage[]>([]);
  const before = ref<string | null>(null);
  const after = ref<string | null>(null);
  const state = ref<TimelineState>('idle');
  const error = ref<unknown>(null);
  const loadingOlder = ref(false);
  const loadingNewer = ref(false);
  /** bumped by every fresh window: an answer of an older generation is dropped */
  let generation = 0;
  let controller: AbortController | undefined;

  const indexOf = (msgid: string) => items.value.findIndex((m) => m.message.msgid === msgid);

  /** Replaces the window: the newest page, or a page around a message or at a time. */
  async function open(anchor: PageAnchor): Promise<void> {
    controller?.abort();
    controller = new AbortController();
    const mine = ++generation;
    state.value = 'loading';
    error.value = null;
    loadingOlder.value = loadingNewer.value = false;
    try {
      const page = await messagePage(corpid(), conversation(), anchor, controller.signal);
      if (mine !== generation) return;
      items.value = page.messages.map((m) => shownMessage(corpid(), m));
      before.value = page.before;
      after.value = page.after;
      state.value = 'ready';
    } catch (err) {
      if (mine !== generation) return;
      error.value = err;
      state.value = 'error';
    }
  }

  async function more(direction: 'older' | 'newer'): Promise<number> {
    const cursor = direction === 'older' ? before.value : after.value;
    const busy = direction === 'older' ? loadingOlder : loadingNewer;
    if (cursor === null || busy.value || state.value !== 'ready') return 0;
    busy.value = true;
    const mine = generation;
    try {
      const page = await messagePage(corpid(), conversation(), direction === 'older' ? { before: cursor } : { after: cursor }, controller?.signal);
      if (mine !== generation) return 0;
      const known = new Set(items.value.map((m) => m.message.msgid));
      const fresh = page.messages.filter((m) => !known.has(m.msgid)).map((m) => shownMessage(corpid(), m));
      if (direction === 'older') {
        items.value = [...fresh, ...items.value];
        before.value = page.before;
      } else {
        items.value = [...items.value, ...fresh];
        after.value = page.after;
      }
      return fresh.length;
    } catch (err) {
      if (mine === generation && !(err instanceof DOMException && err.name === 'AbortError')) error.value = err;
      return 0;
    } finally {
      if (mine === generation) busy.value = false;
    }
  }

  function close(): void {
    controller?.abort();
    generation++;
    items.value = [];
    before.value = after.value = null;
    state.value = 'idle';
  }

  return {
    items,
    state,
    error,
    loadingOlder,
    loadingNewer,
    hasOlder: computed(() => before.value !== null),
    hasNewer: computed(() => after.value !== null),
    indexOf,
    open,
    loadOlder: () => more('older'),
    loadNewer: () => more('newer'),
    close,
  };
}
