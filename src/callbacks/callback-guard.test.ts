import { describe, expect, it } from 'vitest';
import { parseCallbackQuery } from './callback-query.ts';
import { clientAddress, ipMatches } from './callback-source-guard.ts';
import { PullWaker } from './pull-waker.ts';

describe('parseCallbackQuery', () => {
  it('percent-decodes but keeps "+" (a form decoder would break base64 echostr)', () => {
    const q = parseCallbackQuery('echostr=ab+c/d%2Be%3D%3D&nonce=1&empty=');
    expect(q.get('echostr')).toBe('ab+c/d+e==');
    expect(q.get('nonce')).toBe('1');
    expect(q.get('empty')).toBe('');
  });

  it('refuses repeated parameters, broken escapes and oversized queries', () => {
    expect(() => parseCallbackQuery('a=1&a=2')).toThrow(/given twice/);
    expect(() => parseCallbackQuery('a=%E0%A4%A')).toThrow(/malformed/);
    expect(() => parseCallbackQuery(`a=${'x'.repeat(9000)}`)).toThrow(/longer than/);
  });
});

describe('trusted callback sources', () => {
  it("matches exact addresses, WeCom's a.b.c.* patterns and CIDRs, IPv4-mapped IPv6 included", () => {
    expect(ipMatches('101.226.103.5', '101.226.103.*')).toBe(true);
    expect(ipMatches('101.226.104.5', '101.226.103.*')).toBe(false);
    expect(ipMatches('::ffff:182.254.11.176', '182.254.0.0/16')).toBe(true);
    expect(ipMatches('182.255.11.176', '182.254.0.0/16')).toBe(false);
    expect(ipMatches('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(ipMatches('2001:db8::1', '2001:db8::/32')).toBe(true);
    expect(ipMatches('2001:db8::1', '101.226.103.*')).toBe(false);
    expect(ipMatches('not-an-ip', '*.*.*.*')).toBe(false);
  });

  it('believes X-Forwarded-For only from a trusted proxy, taking the right-most untrusted hop', () => {
    expect(clientAddress('203.0.113.9', '101.226.103.5', [])).toBe('203.0.113.9');
    expect(clientAddress('203.0.113.9', '101.226.103.5', ['10.0.0.0/8'])).toBe('203.0.113.9');
    expect(clientAddress('10.0.0.2', '101.226.103.5', ['10.0.0.0/8'])).toBe('101.226.103.5');
    // A client cannot put a fake address in front: the proxy appends the real one.
    expect(clientAddress('10.0.0.2', '101.226.103.5, 198.51.100.7, 10.0.0.3', ['10.0.0.0/8'])).toBe('198.51.100.7');
    expect(clientAddress('::ffff:10.0.0.2', 'garbage', ['10.0.0.0/8'])).toBe('10.0.0.2');
  });
});

describe('PullWaker', () => {
  it('rings at once, folds a burst into one trailing ring, and says when no pull runs here', async () => {
    let rings = 0;
    const waker = new PullWaker(40);
    waker.attach(new Map([['ww1', { pullBell: { ring: () => void (rings += 1) } }]]));
    expect(waker.wake('ww1')).toBe(true);
    expect(rings).toBe(1);
    for (let i = 0; i < 5; i++) waker.wake('ww1');
    expect(rings).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(rings).toBe(2);
    expect(waker.wake('ww-other')).toBe(false);
    waker.close();
  });
});

describe('callback settings', () => {
  it('defaults, and reports every bad callback setting at once', async () => {
    const { loadConfig } = await import('../config/config.ts');
    expect(loadConfig({}, {}, '/').callbacks).toEqual({ maxAgeS: 600, ipCheck: 'off', trustedProxies: [], directorySyncIntervalS: 21600 });
    expect(
      loadConfig({}, { WECOM_ARCHIVE_CALLBACK_MAX_AGE_S: '0', WECOM_ARCHIVE_CALLBACK_IP_CHECK: 'enforce', WECOM_ARCHIVE_TRUSTED_PROXIES: '10.0.0.0/8, ::1' }, '/').callbacks,
    ).toEqual({ maxAgeS: 0, ipCheck: 'enforce', trustedProxies: ['10.0.0.0/8', '::1'], directorySyncIntervalS: 21600 });
    expect(() =>
      loadConfig({}, { WECOM_ARCHIVE_CALLBACK_MAX_AGE_S: '-5', WECOM_ARCHIVE_CALLBACK_IP_CHECK: 'yes', WECOM_ARCHIVE_TRUSTED_PROXIES: '10.0.0.0/99,proxy.local' }, '/'),
    ).toThrow(/CALLBACK_MAX_AGE_S must be[\s\S]*CALLBACK_IP_CHECK must be off or enforce[\s\S]*"10\.0\.0\.0\/99" is not an IP[\s\S]*"proxy\.local" is not an IP/);
  });
});
