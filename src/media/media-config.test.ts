import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.ts';
import { ConfigError } from '../errors/errors.ts';

describe('media settings', () => {
  it('default to DATA_DIR/media, 6 downloads at once, 3 per corp', () => {
    const { media } = loadConfig({ ffmpeg: 'off' }, {}, '/srv/wa');
    expect(media).toEqual({ store: { kind: 'local', dir: '/srv/wa/data/media' }, partialDir: '/srv/wa/data/media/.partial', concurrency: 6, corpConcurrency: 3, ffmpeg: null });
  });

  it('read an S3 bucket with its credentials from the environment', () => {
    const { media } = loadConfig(
      { 'media-store': 's3://wecom-media/archive/2026?endpoint=http://127.0.0.1:9000&region=cn-north-1', ffmpeg: 'off' },
      { WECOM_ARCHIVE_S3_ACCESS_KEY_ID: 'AK', WECOM_ARCHIVE_S3_SECRET_ACCESS_KEY: 'SK' },
      '/srv/wa',
    );
    expect(media.store).toEqual({
      kind: 's3',
      endpoint: 'http://127.0.0.1:9000',
      bucket: 'wecom-media',
      region: 'cn-north-1',
      prefix: 'archive/2026/',
      accessKeyId: 'AK',
      secretAccessKey: 'SK',
      sessionToken: undefined,
    });
    expect(media.partialDir).toBe('/srv/wa/data/media-partial');
    expect(loadConfig({ 'media-store': 'file:/mnt/media', ffmpeg: 'off' }, {}, '/').media.store).toEqual({ kind: 'local', dir: '/mnt/media' });
  });

  it('report every bad media setting at once, without echoing a secret', () => {
    let error: unknown;
    try {
      loadConfig({ 'media-store': 's3://AB?endpoint=ftp://x', 'media-concurrency': '-1', ffmpeg: '/nonexistent/ffmpeg' }, { AWS_SECRET_ACCESS_KEY: 'hunter2' }, '/');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('--media-concurrency must be an integer 0–64');
    expect(message).toContain('"AB" is not a valid bucket name');
    expect(message).toContain('endpoint must be an http(s) URL');
    expect(message).toContain('needs credentials');
    expect(message).toContain('/nonexistent/ffmpeg is not an executable');
    expect(message).not.toContain('hunter2');
  });
});
