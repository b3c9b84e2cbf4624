/**
 * The media store in an S3-compatible bucket (`--media-store s3://bucket?endpoint=…`): objects
 * keyed by SHA-256 under an optional prefix, uploaded with their real SHA-256 in the signature.
 * An object that already exists with the same size is not uploaded again (same bytes stored once).
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { checkKey, type MediaStore } from './media-store.ts';
import { S3Client, type S3Settings } from './s3-client.ts';

export interface S3StoreSettings extends S3Settings {
  /** '' or a prefix ending in '/', e.g. 'wecom/' */
  prefix: string;
}

export function createS3MediaStore(settings: S3StoreSettings): MediaStore {
  const client = new S3Client(settings);
  const full = (key: string): string => `${settings.prefix}${checkKey(key)}`;
  return {
    kind: 's3',
    description: `S3 bucket ${settings.bucket} at ${new URL(settings.endpoint).host}${settings.prefix ? ` under ${settings.prefix}` : ''}`,
    async putFile(key, file, info) {
      if ((await client.head(full(key))) === info.size) {
        await rm(file, { force: true });
        return 'existed';
      }
      await client.put(full(key), { stream: createReadStream(file), size: info.size, sha256: info.sha256, contentType: info.contentType });
      await rm(file, { force: true });
      return 'stored';
    },
    async has(key) {
      return (await client.head(full(key))) !== undefined;
    },
    async read(key, range): Promise<Readable> {
      return client.get(full(key), range);
    },
    async close() {
      client.close();
    },
  };
}
