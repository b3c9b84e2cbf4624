/**
 * What every corp's media stage in one process shares: the store, the voice converter and the
 * overall bound on downloads at once (config.media).
 */
import type { MediaConfig } from '../config/config.ts';
import { Limiter } from './download/limiter.ts';
import { createLocalMediaStore } from './storage/local-media-store.ts';
import type { MediaStore } from './storage/media-store.ts';
import { createS3MediaStore } from './storage/s3-media-store.ts';
import { VoiceConverter } from './voice/voice-converter.ts';

export interface MediaRuntime {
  readonly store: MediaStore;
  readonly voice: VoiceConverter;
  readonly limiter: Limiter;
  readonly partialDir: string;
  close(): Promise<void>;
}

export function createMediaStore(config: MediaConfig): MediaStore {
  const s = config.store;
  return s.kind === 'local'
    ? createLocalMediaStore(s.dir)
    : createS3MediaStore({
        endpoint: s.endpoint,
        bucket: s.bucket,
        region: s.region,
        prefix: s.prefix,
        accessKeyId: s.accessKeyId,
        secretAccessKey: s.secretAccessKey,
        sessionToken: s.sessionToken,
      });
}

export function createMediaRuntime(config: MediaConfig): MediaRuntime {
  const store = createMediaStore(config);
  const voice = new VoiceConverter(config.ffmpeg);
  return {
    store,
    voice,
    limiter: new Limiter(Math.max(1, config.concurrency)),
    partialDir: config.partialDir,
    async close() {
      await voice.close();
      await store.close?.();
    },
  };
}
