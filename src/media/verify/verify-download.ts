/**
 * What a complete download is worth: a non-empty md5sum from WeCom must match the file's md5
 * (else the job fails, with both digests; the bytes are kept, as WeCom's md5 may be what is wrong);
 * without one the file is stored as unverified. A size other than the announced one is noted.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { MediaJob } from '../../store/schema.ts';

/** What WeCom announced of a file: '' or null md5 when it gave none usable, null size when unknown. */
export type Announced = Pick<MediaJob, 'md5_expected' | 'size_expected'>;

export interface Verdict {
  state: 'done' | 'unverified' | 'failed';
  error: string | null;
}

/** Whether the file is worth downloading again: its md5 does not match and tries are left. */
export function md5CallsForRetry(announced: Announced, md5: string, attempts: number, md5Tries: number): boolean {
  return !!announced.md5_expected && announced.md5_expected !== md5 && attempts < md5Tries;
}

/** The final state of a downloaded file, from its digests and size; `attempts`: downloads made. */
export function verifyDownload(announced: Announced, file: { md5: string; size: number }, attempts: number): Verdict {
  const expected = announced.md5_expected;
  let state: Verdict['state'];
  let error: string | null = null;
  if (expected && expected !== file.md5) {
    state = 'failed';
    error = `md5 mismatch after ${attempts} downloads: WeCom's md5sum is ${expected}, the downloaded file's md5 is ${file.md5} (the last download is kept)`;
  } else if (expected) {
    state = 'done';
  } else {
    state = 'unverified';
    error = expected === null ? 'WeCom gave no usable md5sum, so the file could not be verified' : null;
  }
  if (announced.size_expected !== null && Number(announced.size_expected) !== file.size && state !== 'failed') {
    error = `${error ? `${error}; ` : ''}WeCom announced ${announced.size_expected} bytes, the file has ${file.size}`;
  }
  return { state, error };
}

/** The SHA-256 of a file, read as a stream. */
export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
