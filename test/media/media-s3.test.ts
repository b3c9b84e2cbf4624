import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
// s3rver: a real S3 protocol server (SigV4 checked) from npm
import S3rver from '@20minutes/s3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Client } from '../../src/media/storage/s3-client.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { openStore, type Store } from '../../src/store/open-store.ts';
import { decodeMp3 } from './audio-check.ts';
import { addCorp, archiveWithMedia, blobBytes, filesUnder, media, mediaApp, message, ref } from './media-support.ts';

const BUCKET = 'wecom-media';
const CREDS = { WECOM_ARCHIVE_S3_ACCESS_KEY_ID: 'S3RVER', WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY: 'S3RVER' };
const s3dir = mkdtempSync(join(tmpdir(), 'wa-s3rver-'));
let server: { close(): Promise<void> };
let endpoint = '';
let sim: RunningSimulator;
const stores: Store[] = [];

beforeAll(async () => {
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: BUCKET }] });
  const address = (await s3.run()) as AddressInfo;
  endpoint = `http://127.0.0.1:${address.port}`;
  server = s3;
  sim = await startSimulator({ messages: 0, seed: 'media-s3' });
});
afterAll(async () => {
  for (const s of stores) await s.close();
  await sim?.close();
  await server?.close();
  rmSync(s3dir, { recursive: true, force: true });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

describe('media in an S3-compatible bucket', () => {
  it('uploads content-addressed objects with their SHA-256 signed, once per content, voice copy beside them', async () => {
    const dbDir = mkdtempSync(join(tmpdir(), 'wa-s3db-'));
    const store = await openStore(`sqlite:${join(dbDir, 'archive.db')}`);
    stores.push(store);
    const { app, dataDir } = mediaApp(store, { 'media-store': `s3://${BUCKET}/archive?endpoint=${encodeURIComponent(endpoint)}` }, CREDS);
    const jpg = ref(sim, 'jpg', 1);
    const jpgAgain = ref(sim, 'jpg', 1);
    const voice = ref(sim, 'amr', 0);
    const binary = ref(sim, 'dat', 1);
    sim.appendFixtures([
      message('s-1', 'image', { image: media(jpg) }),
      message('s-2', 'image', { image: media(jpgAgain) }),
      message('s-3', 'voice', { voice: { md5sum: voice.md5sum, voice_size: voice.filesize, play_length: 1, sdkfileid: voice.sdkfileid } }),
      message('s-4', 'file', { file: media(binary, { filename: '..\\..\\boot.ini' }) }),
    ]);
    await addCorp(app, sim);
    await archiveWithMedia(app);

    const rows = await store.db.selectFrom('media').selectAll().orderBy('id').execute();
    expect(rows.map((r) => r.state)).toEqual(['done', 'done', 'done', 'done']);
    const client = new S3Client({ endpoint, bucket: BUCKET, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    try {
      for (const [row, source] of [
        [rows[0]!, jpg],
        [rows[2]!, voice],
        [rows[3]!, binary],
      ] as const) {
        const bytes = await readAll(await client.get(`archive/${row.storage_key}`));
        expect(bytes.equals(blobBytes(sim, source)), row.msgid).toBe(true);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(row.sha256);
      }
      expect(rows[1]!.storage_key).toBe(rows[0]!.storage_key);
      expect(rows[2]!.converted_key).toBe(`${rows[2]!.storage_key}.mp3`);
      const mp3 = await readAll(await client.get(`archive/${rows[2]!.converted_key}`));
      expect((await decodeMp3(mp3)).errors).toBe(0);
      expect(await client.head('archive/00/00/no-such-object')).toBeUndefined();
    } finally {
      client.close();
    }
    // the bucket holds 3 originals and 1 copy; nothing is left on local disk but the database
    const objects = filesUnder(join(s3dir, BUCKET)).filter((f) => !f.endsWith('._S3rver_metadata.json') && !f.endsWith('._S3rver_object.md5'));
    expect(objects.length).toBe(4);
    expect(filesUnder(dataDir).filter((f) => !f.startsWith('media-partial/'))).toEqual([]);
    expect(filesUnder(join(dataDir, 'media-partial'))).toEqual([]);
  });

  it("keeps jobs pending with S3's own error when the credentials are wrong", async () => {
    const dbDir = mkdtempSync(join(tmpdir(), 'wa-s3db-'));
    const store = await openStore(`sqlite:${join(dbDir, 'archive.db')}`);
    stores.push(store);
    const { app } = mediaApp(
      store,
      { 'media-store': `s3://${BUCKET}?endpoint=${encodeURIComponent(endpoint)}` },
      { WECOM_ARCHIVE_S3_ACCESS_KEY_ID: 'S3RVER', WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY: 'not-the-secret' },
    );
    await addCorp(app, sim);
    await archiveWithMedia(app);
    const rows = await store.db.selectFrom('media').select(['state', 'error', 'bytes_done']).execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.state).toBe('pending');
      expect(r.error).toMatch(/S3 (HEAD|PUT) .* answered 403/);
      expect(r.error).not.toContain('not-the-secret');
    }
  });

  it('reads a byte range of an object from the bucket (Range signed with the request)', async () => {
    const client = new S3Client({ endpoint, bucket: BUCKET, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    try {
      const bytes = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 253));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await client.put(`ranges/${sha256}`, { stream: Readable.from([bytes]), size: bytes.length, sha256, contentType: 'application/octet-stream' });
      expect((await readAll(await client.get(`ranges/${sha256}`, { start: 4990, end: 4999 }))).equals(bytes.subarray(4990))).toBe(true);
      expect((await readAll(await client.get(`ranges/${sha256}`, { start: 0, end: 99 }))).equals(bytes.subarray(0, 100))).toBe(true);
    } finally {
      client.close();
    }
  });
});
