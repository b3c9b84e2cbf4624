import { describe, expect, it } from 'vitest';
import { md5CallsForRetry, verifyDownload } from './verify-download.ts';

const MD5 = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';

describe('verifyDownload', () => {
  it('is done when the md5 matches and the size is the announced one', () => {
    expect(verifyDownload({ md5_expected: MD5, size_expected: 10 }, { md5: MD5, size: 10 }, 1)).toEqual({ state: 'done', error: null });
  });

  it('fails on an md5 mismatch, naming both digests and the downloads made', () => {
    const v = verifyDownload({ md5_expected: MD5, size_expected: null }, { md5: OTHER, size: 10 }, 3);
    expect(v.state).toBe('failed');
    expect(v.error).toContain(`WeCom's md5sum is ${MD5}`);
    expect(v.error).toContain(`the downloaded file's md5 is ${OTHER}`);
    expect(v.error).toContain('after 3 downloads');
  });

  it('is unverified without an md5sum, with a reason only when WeCom gave none usable', () => {
    expect(verifyDownload({ md5_expected: null, size_expected: null }, { md5: MD5, size: 1 }, 1)).toEqual({
      state: 'unverified',
      error: 'WeCom gave no usable md5sum, so the file could not be verified',
    });
    expect(verifyDownload({ md5_expected: '', size_expected: null }, { md5: MD5, size: 1 }, 1)).toEqual({ state: 'unverified', error: null });
  });

  it('notes a size other than the announced one, unless the file failed', () => {
    expect(verifyDownload({ md5_expected: MD5, size_expected: 12 }, { md5: MD5, size: 10 }, 1)).toEqual({ state: 'done', error: 'WeCom announced 12 bytes, the file has 10' });
    expect(verifyDownload({ md5_expected: MD5, size_expected: 12 }, { md5: OTHER, size: 10 }, 1).error).not.toContain('announced');
  });
});

describe('md5CallsForRetry', () => {
  it('asks for another download only on a mismatch with tries left', () => {
    expect(md5CallsForRetry({ md5_expected: MD5, size_expected: null }, OTHER, 2, 3)).toBe(true);
    expect(md5CallsForRetry({ md5_expected: MD5, size_expected: null }, OTHER, 3, 3)).toBe(false);
    expect(md5CallsForRetry({ md5_expected: MD5, size_expected: null }, MD5, 1, 3)).toBe(false);
    expect(md5CallsForRetry({ md5_expected: null, size_expected: null }, OTHER, 1, 3)).toBe(false);
  });
});
