import type { App } from './app.ts';
import type { Logger } from './logger.ts';
import { IndexStage } from '../search/index-stage.ts';

/**
 * `reindex`: rebuilds the search index of one corp (or all) in this process, beside any running
 * archive (see IndexStage.rebuild). Returns how many messages were queued for it.
 */
export function reindexSearch(app: App, log: Logger, corpid: string | undefined, signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<number> {
  const { db, dialect, health } = app.store;
  return new IndexStage({ db, dialect, health, log }).rebuild(corpid, signal, onProgress);
}
