/**
 * Media jobs as a claim queue of store/claims, the claim mechanism every background stage shares:
 * a job waits `pending` until `next_try_at`, is `downloading` while a process holds its lease (and
 * can be taken up again once that lease has ended, or its holder died on this host), and is put
 * back `pending` with a delay after a failed try. The delay grows with `failures`, the failed tries
 * in a row; `attempts` counts whole-file downloads, which the stage counts itself as it starts one.
 */
import type { QueueDescriptor } from '../../store/claims/claim-queue.ts';
import type { MediaTable } from '../../store/schema.ts';

export const MEDIA_QUEUE: QueueDescriptor<'media'> = {
  table: 'media',
  key: ['id'],
  state: 'state',
  states: { ready: 'pending', working: 'downloading', gaveUp: 'failed' },
  due: 'next_try_at',
  attempts: 'failures',
  countTry: 'on failure',
  order: 'id',
  updatedAt: 'updated_at',
};

/** Columns of a job its holder may write (never its id). */
export type MediaJobUpdate = Partial<Omit<MediaTable, 'id'>>;
