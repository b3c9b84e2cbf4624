/**
 * What the operations page does about a corp's failures (src/api/ops-action-routes.ts, admins only):
 * the latest failed media jobs and callback events with why they failed, retrying the media and
 * replaying the events; and the composable a corp's card keeps them in.
 */
import { shallowRef, type ShallowRef } from 'vue';
import { apiGet, apiSend, type RequestOptions } from './client.ts';
import { corpBase } from './reads.ts';

/** A failed or expired media job: which file and why (never the message). */
export interface MediaFailure {
  id: number;
  msgid: string;
  kind: string;
  state: string;
  fileName: string | null;
  errorCode: number | null;
  error: string | null;
  attempts: number;
  updatedAt: number;
}

/** A failed callback event: which event and why (never its payload); a malformed one is not replayable. */
export interface CallbackFailure {
  id: number;
  app: string;
  kind: string;
  event: string | null;
  changeType: string | null;
  attempts: number;
  error: string | null;
  receivedAt: number;
  replayable: boolean;
}

export function mediaFailures(corpid: string, options?: RequestOptions): Promise<{ failures: MediaFailure[] }> {
  return apiGet(`${corpBase(corpid)}/media/failures`, options);
}

export function callbackFailures(corpid: string, options?: RequestOptions): Promise<{ failures: CallbackFailure[] }> {
  return apiGet(`${corpBase(corpid)}/callbacks/failures`, options);
}

/** Queues the corp's failed media again from the first byte; says how many. */
export function retryMedia(corpid: string): Promise<{ requeued: number }> {
  return apiSend('POST', `${corpBase(corpid)}/media/retry`, { state: 'failed' });
}

/** Hands one failed event (or, without an id, every failed event of the corp) to the handlers again; says how many. */
export function replayCallbacks(corpid: string, id?: number): Promise<{ replayed: number }> {
  return apiSend('POST', `${corpBase(corpid)}/callbacks/replay`, id === undefined ? {} : { id });
}

export interface CorpActions {
  readonly media: ShallowRef<MediaFailure[]>;
  readonly callbacks: ShallowRef<CallbackFailure[]>;
  /** the last load or action that failed */
  readonly error: ShallowRef<Error | null>;
  /** an action is under way: its buttons wait */
  readonly busy: ShallowRef<boolean>;
  /** how many media the last retry queued, and how many events the last replay took back; null before */
  readonly requeued: ShallowRef<number | null>;
  readonly replayed: ShallowRef<number | null>;
  /** loads the lists that have something in them (a list read is audited, so an empty one is not asked for) */
  load(want: { media: boolean; callbacks: boolean }): Promise<void>;
  retry(): Promise<void>;
  replay(id?: number): Promise<void>;
}

/** A corp's failures and the actions on them; `changed` is called after an action, to refresh the counts. */
export function useCorpActions(corpid: () => string, changed: () => void): CorpActions {
  const media = shallowRef<MediaFailure[]>([]);
  const callbacks = shallowRef<CallbackFailure[]>([]);
  const error = shallowRef<Error | null>(null);
  const busy = shallowRef(false);
  const requeued = shallowRef<number | null>(null);
  const replayed = shallowRef<number | null>(null);
  const asError = (err: unknown) => (err instanceof Error ? err : new Error(String(err)));

  async function load(want: { media: boolean; callbacks: boolean }): Promise<void> {
    try {
      const [m, c] = await Promise.all([want.media ? mediaFailures(corpid()) : { failures: [] }, want.callbacks ? callbackFailures(corpid()) : { failures: [] }]);
      media.value = m.failures;
      callbacks.value = c.failures;
    } catch (err) {
      error.value = asError(err);
    }
  }

  async function act(run: () => Promise<void>): Promise<void> {
    busy.value = true;
    error.value = null;
    try {
      await run();
      changed();
    } catch (err) {
      error.value = asError(err);
    } finally {
      busy.value = false;
    }
  }

  return {
    media,
    callbacks,
    error,
    busy,
    requeued,
    replayed,
    load,
    retry: () =>
      act(async () => {
        requeued.value = (await retryMedia(corpid())).requeued;
      }),
    replay: (id?: number) =>
      act(async () => {
        replayed.value = (await replayCallbacks(corpid(), id)).replayed;
      }),
  };
}
