/**
 * The browser-playable copy of a stored voice recording: the original is read back from the media
 * store (it may be in a bucket) into a local file, converted to MP3 on the voice worker, and the
 * copy stored under a key derived from the original's SHA-256, so the same voice is converted once.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../app/logger.ts';
import { clipError } from '../../runtime/clip.ts';
import type { VoiceCopyResult, VoiceWithoutCopy } from '../jobs/media-job-repository.ts';
import { derivedKey, type MediaStore } from '../storage/media-store.ts';
import { sha256OfFile } from '../verify/verify-download.ts';
import type { VoiceConverter } from './voice-converter.ts';

export interface VoiceCopyDeps {
  store: MediaStore;
  voice: VoiceConverter;
  /** local scratch directory for the original and its copy */
  partialDir: string;
  log: Logger;
}

/**
 * Makes (or finds) the playable copy of one voice. A voice that cannot be converted resolves with
 * the reason; a store that cannot be read or written rejects, so the copy is tried again later.
 */
export async function makeVoiceCopy(deps: VoiceCopyDeps, row: VoiceWithoutCopy): Promise<VoiceCopyResult> {
  const { store } = deps;
  const copyKey = derivedKey(row.sha256, 'mp3');
  if (await store.has(copyKey)) return { converted_key: copyKey, converted_type: 'audio/mpeg', convert_error: null };
  await mkdir(deps.partialDir, { recursive: true, mode: 0o700 });
  const base = join(deps.partialDir, `voice-${randomBytes(8).toString('hex')}`);
  try {
    await pipeline(await store.read(row.storage_key), createWriteStream(`${base}.in`, { mode: 0o600 }));
    const r = await deps.voice.convert(`${base}.in`, row.voice_format, `${base}.mp3`);
    if (!r.ok) return { converted_key: null, converted_type: null, convert_error: clipError(r.reason) };
    await store.putFile(copyKey, `${base}.mp3`, { size: r.bytes, sha256: await sha256OfFile(`${base}.mp3`), contentType: r.contentType });
    return { converted_key: copyKey, converted_type: r.contentType, convert_error: null };
  } catch (err) {
    deps.log.warn({ job: row.id, err: (err as Error).message }, 'voice conversion failed; tried again later');
    throw err;
  } finally {
    await rm(`${base}.in`, { force: true });
    await rm(`${base}.mp3`, { force: true });
  }
}
