import { describe, expect, it } from 'vitest';
import { WeComApiError } from '../errors/wecom-codes.ts';
import { ApiSecretMissingError, WeComApiCallError } from './api-errors.ts';
import type { ApiRetryPolicy } from './api-retry-policy.ts';
import { ApiTransportError, type ApiHttpRequest, type ApiTransport } from './api-transport.ts';
import { TokenCache } from './token-cache.ts';
import { type ApiCorp, WeComApiClient } from './wecom-api-client.ts';

const POLICY: ApiRetryPolicy = {
  tokenCodes: new Set([40014, 42001]),
  backoff: { [-1]: { retries: 3, baseMs: 1, maxMs: 2 }, 45009: { retries: 2, baseMs: 1, maxMs: 2 } },
  network: { retries: 2, baseMs: 1, maxMs: 2 },
};

const CORP: ApiCorp = {
  corpid: 'wwclienttest',
  apiBase: 'https://qyapi.example/prefix/',
  secrets: { archive: 'ARCHIVE-SECRET', contacts: 'CONTACTS-SECRET', customer: null },
  proxy: null,
  proxyAuth: null,
  timeoutS: 5,
};

/** A WeCom stand-in at the transport: tokens per secret, scripted answers per path. */
function fakeWeCom(script: Record<string, Array<Record<string, unknown> | 'network'>> = {}) {
  const seen: ApiHttpRequest[] = [];
  let issued = 0;
  const valid = new Set<string>();
  const transport: ApiTransport = async (req) => {
    seen.push(req);
    await new Promise((r) => setTimeout(r, 2));
    const path = req.url.pathname.replace('/prefix', '');
    if (path === '/cgi-bin/gettoken') {
      const token = `tok-${req.url.searchParams.get('corpsecret')}-${++issued}`;
      valid.add(token);
      return { status: 200, json: { errcode: 0, errmsg: 'ok', access_token: token, expires_in: 7200 } };
    }
    const token = req.url.searchParams.get('access_token') ?? '';
    if (!valid.has(token)) return { status: 200, json: { errcode: 42001, errmsg: 'access_token expired' } };
    const next = script[path]?.shift();
    if (next === 'network') throw new ApiTransportError('cannot reach qyapi.example: ECONNRESET');
    return { status: 200, json: next ?? { errcode: 0, errmsg: 'ok', path } };
  };
  return { transport, seen, expireAll: () => valid.clear(), tokensIssued: () => issued };
}

describe('WeComApiClient', () => {
  it('fetches one token per secret, shared by concurrent calls, and keeps the base path prefix', async () => {
    const wecom = fakeWeCom();
    const client = new WeComApiClient(CORP, { transport: wecom.transport, tokens: new TokenCache(), policy: POLICY });
    await Promise.all(Array.from({ length: 10 }, () => client.call('contacts', { method: 'GET', path: '/cgi-bin/user/get', query: { userid: 'a' }, operation: 'user/get' })));
    await client.call('archive', { method: 'POST', path: '/cgi-bin/msgaudit/get_permit_user_list', body: {}, operation: 'permit' });
    expect(wecom.tokensIssued()).toBe(2);
    const gettoken = wecom.seen.filter((r) => r.url.pathname.endsWith('/gettoken')).map((r) => r.url.searchParams.get('corpsecret'));
    expect(gettoken).toEqual(['CONTACTS-SECRET', 'ARCHIVE-SECRET']);
    expect(wecom.seen.every((r) => r.url.pathname.startsWith('/prefix/cgi-bin/'))).toBe(true);
  });

  it('fetches a new token once when WeCom says it expired, however many calls notice', async () => {
    const wecom = fakeWeCom();
    const client = new WeComApiClient(CORP, { transport: wecom.transport, tokens: new TokenCache(), policy: POLICY });
    await client.call('contacts', { method: 'GET', path: '/cgi-bin/department/list', operation: 'department/list' });
    wecom.expireAll();
    const answers = await Promise.all(Array.from({ length: 5 }, () => client.call('contacts', { method: 'GET', path: '/cgi-bin/department/list', operation: 'department/list' })));
    expect(answers.every((a) => a.errcode === 0)).toBe(true);
    expect(wecom.tokensIssued()).toBe(2);
  });

  it('backs off on -1 and 45009 and then succeeds; a fault that outlasts the retries keeps its code and says what it means', async () => {
    const wecom = fakeWeCom({
      '/cgi-bin/user/get': [
        { errcode: -1, errmsg: 'system busy' },
        { errcode: 45009, errmsg: 'freq' },
        { errcode: -1, errmsg: 'system busy' },
      ],
      '/cgi-bin/tag/list': [{ errcode: 45009 }, { errcode: 45009 }, { errcode: 45009 }],
    });
    const client = new WeComApiClient(CORP, { transport: wecom.transport, tokens: new TokenCache(), policy: POLICY });
    expect((await client.call('contacts', { method: 'GET', path: '/cgi-bin/user/get', operation: 'user/get' })).errcode).toBe(0);
    const err = await client.call('contacts', { method: 'GET', path: '/cgi-bin/tag/list', operation: 'tag/list' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeComApiError);
    expect(err).toMatchObject({ wecomCode: 45009, code: 'WECOM_API_ERROR', transient: true });
    expect((err as Error).message).toMatch(/tag\/list \(corp wwclienttest\) failed with WeCom errcode 45009: API call frequency exceeded/);
  });

  it('explains codes of the directory APIs, never retries permanent ones, and never shows a secret', async () => {
    const wecom = fakeWeCom({ '/cgi-bin/user/get': [{ errcode: 60111, errmsg: 'userid not found' }] });
    const client = new WeComApiClient(CORP, { transport: wecom.transport, tokens: new TokenCache(), policy: POLICY });
    const err = await client.call('contacts', { method: 'GET', path: '/cgi-bin/user/get', query: { userid: 'gone' }, operation: 'user/get' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeComApiCallError);
    expect((err as Error).message).toMatch(/60111: userid not found .*deleted or is outside/);
    expect((err as Error).message).not.toContain('CONTACTS-SECRET');
    expect(wecom.seen.filter((r) => r.url.pathname.endsWith('/user/get')).length).toBe(1);
  });

  it('retries network failures a few times, and names the command that sets a missing secret', async () => {
    const wecom = fakeWeCom({ '/cgi-bin/user/get': ['network', 'network'], '/cgi-bin/tag/list': ['network', 'network', 'network'] });
    const client = new WeComApiClient(CORP, { transport: wecom.transport, tokens: new TokenCache(), policy: POLICY });
    expect((await client.call('contacts', { method: 'GET', path: '/cgi-bin/user/get', operation: 'user/get' })).errcode).toBe(0);
    await expect(client.call('contacts', { method: 'GET', path: '/cgi-bin/tag/list', operation: 'tag/list' })).rejects.toBeInstanceOf(ApiTransportError);
    const missing = await client.call('customer', { method: 'GET', path: '/cgi-bin/externalcontact/get', operation: 'externalcontact/get' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ApiSecretMissingError);
    expect((missing as Error).message).toContain('wecom-archive corp secrets --corp wwclienttest --customer-secret');
  });

  it('reports a refused secret at gettoken with its code', async () => {
    const transport: ApiTransport = async () => ({ status: 200, json: { errcode: 40001, errmsg: 'invalid credential' } });
    const client = new WeComApiClient(CORP, { transport, tokens: new TokenCache(), policy: POLICY });
    const err = await client.call('archive', { method: 'GET', path: '/cgi-bin/getcallbackip', operation: 'getcallbackip' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ wecomCode: 40001 });
    expect((err as Error).message).toMatch(/gettoken with the archive secret .* 40001: invalid secret/);
    expect((err as Error).message).not.toContain('ARCHIVE-SECRET');
  });
});

describe('TokenCache', () => {
  it('refreshes a token shortly before it expires', async () => {
    let now = 0;
    const cache = new TokenCache(() => now);
    let n = 0;
    const fetch = async () => ({ token: `t${++n}`, expiresInS: 7200 });
    expect(await cache.get('k', fetch)).toBe('t1');
    now = 6800 * 1000;
    expect(await cache.get('k', fetch)).toBe('t1');
    // 5 minutes before the end (7200 s − 300 s) a new one is fetched.
    now = 6950 * 1000;
    expect(await cache.get('k', fetch)).toBe('t2');
    cache.invalidate('k', 't1'); // an older token refused late does not drop the new one
    expect(await cache.get('k', fetch)).toBe('t2');
  });
});
