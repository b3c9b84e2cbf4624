import { describe, expect, it } from 'vitest';
import { authorizeModeOf, encodePending, matchPending, newState, safeNext, STATE_TTL_MS } from './wecom-sign-in.ts';

describe('safeNext', () => {
  it('keeps a path on this server, query and fragment included', () => {
    expect(safeNext('/c/ww1/room%3Awr1?at=2026-12-01#m1')).toBe('/c/ww1/room%3Awr1?at=2026-12-01#m1');
    expect(safeNext('/')).toBe('/');
  });

  it('drops anything a browser could read as another site, and what is not a path', () => {
    for (const next of [
      '//evil.com',
      '///evil.com',
      '/\\evil.com',
      '\\\\evil.com',
      'https://evil.com',
      'evil.com',
      'javascript:alert(1)',
      '/a\nb',
      '/\t/evil.com',
      '',
      undefined,
      `/${'a'.repeat(1024)}`,
    ])
      expect(safeNext(next), JSON.stringify(next)).toBeUndefined();
  });
});

describe('the pending sign-in', () => {
  const t = 1_800_000_000_000;
  const state = newState();
  const cookie = encodePending({ state, corpid: 'ww1', next: '/x', startedAt: t });

  it('matches its own state within the time allowed', () => {
    expect(matchPending(cookie, state, t + STATE_TTL_MS - 1)).toEqual({ state, corpid: 'ww1', next: '/x', startedAt: t });
  });

  it('matches no other state, nothing late, and no cookie that is not its own', () => {
    expect(matchPending(cookie, newState(), t)).toBeUndefined();
    expect(matchPending(cookie, state, t + STATE_TTL_MS)).toBeUndefined();
    expect(matchPending(cookie, state, t - 1)).toBeUndefined();
    expect(matchPending(undefined, state, t)).toBeUndefined();
    expect(matchPending(cookie, undefined, t)).toBeUndefined();
    expect(matchPending('not base64 json', state, t)).toBeUndefined();
    // a cookie someone wrote with a next of their own: the state matches, the next is dropped
    const forged = Buffer.from(JSON.stringify({ s: state, c: 'ww1', n: '//evil.com', t })).toString('base64url');
    expect(matchPending(forged, state, t)?.next).toBeUndefined();
  });
});

it('sends the WeCom client to 网页授权 and every other browser to the QR page', () => {
  expect(authorizeModeOf('Mozilla/5.0 (iPhone) AppleWebKit wxwork/4.1.0 MicroMessenger/7.0.1')).toBe('oauth');
  expect(authorizeModeOf('Mozilla/5.0 (Windows NT 10.0) Chrome/120.0')).toBe('sso');
  // WeChat (not WeCom) cannot do 网页授权 of a WeCom app
  expect(authorizeModeOf('Mozilla/5.0 MicroMessenger/8.0.40')).toBe('sso');
});
