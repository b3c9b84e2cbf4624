/**
 * `media` rows for tests and benches that put media jobs into a store directly: the job ingest makes
 * (newMediaJob), with what the test says over it, and the columns of a download that is done.
 */
import { createHash } from 'node:crypto';
import { newMediaJob } from '../../src/media/jobs/media-job-rows.ts';
import { objectKey } from '../../src/media/storage/media-store.ts';
import type { NewMediaJob } from '../../src/store/schema.ts';
import type { MediaKind } from '../../src/store/vocabulary.ts';

/** The job of the one media reference (slot 0) of a message of type `kind`, made at `at`: pending and untried, unless `over` says otherwise. */
export function mediaRow(corpid: string, msgid: string, kind: MediaKind, at: number, over: Partial<NewMediaJob> = {}): NewMediaJob {
  const ref = { slot: 0, kind, path: kind, sdkfileid: `f-${msgid}`, md5: null, size: null, fileName: null, invalid: null };
  return { ...newMediaJob(corpid, msgid, kind, ref, at), ...over };
}

/** The columns of a job whose download of `bytes` is done (first try), the file stored under its digest. */
export function downloaded(bytes: Buffer, contentType: string, at: number): Partial<NewMediaJob> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    state: 'done',
    size_expected: bytes.length,
    bytes_done: bytes.length,
    attempts: 1,
    sha256,
    md5: createHash('md5').update(bytes).digest('hex'),
    size: bytes.length,
    content_type: contentType,
    storage_key: objectKey(sha256),
    finished_at: at,
  };
}
