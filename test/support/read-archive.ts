/**
 * An archive to read through the API: the reading fixture's two corps (directory, single, external
 * and group conversations, recalls and quotes), indexed for search, with a media file on a message of
 * corp A's `pair:alice|bob`, one on corp A's external chat and one in corp B, in a local media store.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { App } from '../../src/app/app.ts';
import { createLocalMediaStore } from '../../src/media/storage/local-media-store.ts';
import { objectKey } from '../../src/media/storage/media-store.ts';
import { indexDocs } from '../../src/search/index-docs.ts';
import { IndexRepository } from '../../src/search/index-repository.ts';
import type { Store } from '../../src/store/open-store.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { A, B, fixtureRows, loadFixture } from '../reading/reading-fixture.ts';
import { downloaded, mediaRow } from './media-rows.ts';
import { addOfflineCorp } from './corp-rows.ts';

export interface ReadArchive {
  readonly app: App;
  /** sha256 of each stored file, by the msgid of the message that references it */
  readonly media: Readonly<Record<string, string>>;
}

/** Messages that get a stored file: in corp A's alice|bob chat, in corp A's external chat, in corp B. */
export const MEDIA_MESSAGES = [
  { corpid: A, msgid: 'a06' },
  { corpid: A, msgid: 'e02' },
  { corpid: B, msgid: 'b01' },
] as const;

/** Corps A and B of the reading fixture in `store`, indexed, with their media files stored under `dir`. */
export async function openReadArchive(store: Store, dir: string): Promise<ReadArchive> {
  const app = appWithEnv(store, { WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_MEDIA_STORE: join(dir, 'media') });
  for (const corpid of [A, B]) {
    await addOfflineCorp(app, corpid);
  }
  await loadFixture(store, await fixtureRows(0));
  const index = new IndexRepository(store.db, store.dialect);
  while ((await index.indexBatch(100, indexDocs)) > 0);

  const mediaStore = createLocalMediaStore(join(dir, 'media'));
  const media: Record<string, string> = {};
  for (const { corpid, msgid } of MEDIA_MESSAGES) {
    // a small PNG-like file per message, each its own bytes
    const bytes = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from(`${corpid}/${msgid}`)]);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const file = join(dir, `in-${msgid}`);
    await writeFile(file, bytes);
    await mediaStore.putFile(objectKey(sha256), file, { size: bytes.length, sha256, contentType: 'image/png' });
    // an image message has its media job from ingest already: this file takes its place, downloaded
    await store.db.deleteFrom('media').where('corpid', '=', corpid).where('msgid', '=', msgid).execute();
    await store.db
      .insertInto('media')
      .values(mediaRow(corpid, msgid, 'image', 1, { file_name: `${msgid}.png`, ...downloaded(bytes, 'image/png', 1) }))
      .execute();
    media[msgid] = sha256;
  }
  return { app, media };
}
