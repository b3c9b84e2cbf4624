import type { Kysely } from 'kysely';
import { clipError } from '../../runtime/clip.ts';
import type { Database } from '../../store/schema.ts';
import type { HostRestartEvent } from './host-pool.ts';

/**
 * Stores one SDK host restart for `status`. Pass it as `onHostRestart` to createBackend; a failure
 * to record is reported to `onError` and never disturbs the archive.
 */
export function recordHostRestarts(db: Kysely<Database>, onError: (err: unknown) => void = () => undefined): (event: HostRestartEvent) => void {
  return (event) => {
    db.insertInto('sdk_host_restarts')
      .values({
        corpid: event.corpid,
        lane: event.lane,
        cause: event.cause,
        signal: event.signal,
        exit_code: event.exitCode,
        operation: event.operation,
        rss_bytes: event.rssBytes,
        detail: clipError(event.detail),
        occurred_at: event.at,
      })
      .execute()
      .catch(onError);
  };
}
