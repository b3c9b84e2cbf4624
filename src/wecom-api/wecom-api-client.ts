/**
 * The WeCom HTTP API client of one corp: picks the right secret for each API (the archive, contacts
 * and customer-contact secrets are different apps with different tokens), caches tokens, fetches a
 * new one on 40014/42001, backs off on -1/45009/45033 and network failures (policy in
 * api-retry-policy.ts), and turns every other errcode into a WeComApiCallError that keeps WeCom's
 * code. Secrets and tokens never appear in messages or logs.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { jitteredDelayMs } from '../runtime/backoff.ts';
import { ApiResponseError, ApiSecretMissingError, WeComApiCallError } from './api-errors.ts';
import { type ApiRetryPolicy, DEFAULT_API_RETRY_POLICY } from './api-retry-policy.ts';
import { ApiTransportError, type ApiTransport } from './api-transport.ts';
import { ProxyTunnelError } from './proxy-tunnel.ts';
import type { TokenCache } from './token-cache.ts';

/** Which app's secret a call needs ('login': the app that signs users in with WeCom). */
export type SecretKind = 'archive' | 'contacts' | 'customer' | 'login';

/** A corp as the API client needs it. Holds secrets: never log it. */
export interface ApiCorp {
  corpid: string;
  /** e.g. https://qyapi.weixin.qq.com, or the simulator's URL */
  apiBase: string;
  /** `login` is set only on a client made for signing a user in (ApiClients.loginClient) */
  secrets: { archive: string; contacts: string | null; customer: string | null; login?: string | null };
  proxy: string | null;
  proxyAuth: string | null;
  timeoutS: number;
}

export interface ApiCall {
  method: 'GET' | 'POST';
  /** e.g. /cgi-bin/user/get */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** for messages: e.g. 'user/get' */
  operation: string;
}

export interface WeComApiClientDeps {
  transport: ApiTransport;
  tokens: TokenCache;
  policy?: ApiRetryPolicy;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const sleepFor = (ms: number, signal?: AbortSignal): Promise<void> => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);

export class WeComApiClient {
  private readonly policy: ApiRetryPolicy;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(
    readonly corp: ApiCorp,
    private readonly deps: WeComApiClientDeps,
  ) {
    this.policy = deps.policy ?? DEFAULT_API_RETRY_POLICY;
    this.sleep = deps.sleep ?? sleepFor;
  }

  /** Whether a secret of this kind is configured (parts of the sync are skipped without it). */
  has(kind: SecretKind): boolean {
    return kind === 'archive' || (this.corp.secrets[kind] ?? null) !== null;
  }

  /**
   * Calls one API with the token of `kind` and returns WeCom's JSON answer (errcode 0).
   * @throws WeComApiCallError (errcode kept), ApiTransportError, ApiSecretMissingError, or the abort reason
   */
  async call(kind: SecretKind, call: ApiCall, signal?: AbortSignal): Promise<Record<string, unknown>> {
    let tokenRetried = false;
    const retries = new Map<number | 'network', number>();
    for (;;) {
      signal?.throwIfAborted();
      let token: string | undefined;
      try {
        token = await this.token(kind, signal);
        const answer = await this.send({ ...call, query: { ...call.query, access_token: token } }, signal);
        const errcode = errcodeOf(answer);
        if (errcode === 0) return answer;
        if (Number.isNaN(errcode)) throw new ApiResponseError(call.operation, '"errcode" is not an integer');
        if (this.policy.tokenCodes.has(errcode) && !tokenRetried) {
          tokenRetried = true;
          this.deps.tokens.invalidate(this.tokenKey(kind), token);
          continue;
        }
        const rule = this.policy.backoff[errcode];
        const done = retries.get(errcode) ?? 0;
        if (rule && done < rule.retries) {
          retries.set(errcode, done + 1);
          await this.sleep(jitteredDelayMs(rule.baseMs, rule.maxMs, done + 1), signal);
          continue;
        }
        throw new WeComApiCallError(errcode, `${call.operation} (corp ${this.corp.corpid})`, errmsgOf(answer));
      } catch (err) {
        if (!(err instanceof ApiTransportError || (err instanceof ProxyTunnelError && err.transient)) || signal?.aborted) throw err;
        const done = retries.get('network') ?? 0;
        if (done >= this.policy.network.retries) throw err;
        retries.set('network', done + 1);
        await this.sleep(jitteredDelayMs(this.policy.network.baseMs, this.policy.network.maxMs, done + 1), signal);
      }
    }
  }

  /** The cache key: corp, kind and a hash of the secret (a changed secret gets a new token). */
  private tokenKey(kind: SecretKind): string {
    const secret = this.secret(kind);
    return `${this.corp.corpid}:${kind}:${createHash('sha256').update(secret).digest('hex').slice(0, 16)}`;
  }

  private secret(kind: SecretKind): string {
    if (kind === 'archive') return this.corp.secrets.archive;
    const secret = this.corp.secrets[kind] ?? null;
    if (secret === null) throw new ApiSecretMissingError(this.corp.corpid, kind);
    return secret;
  }

  private token(kind: SecretKind, signal?: AbortSignal): Promise<string> {
    const secret = this.secret(kind);
    return this.deps.tokens.get(this.tokenKey(kind), async () => {
      const answer = await this.send(
        {
          method: 'GET',
          path: '/cgi-bin/gettoken',
          operation: `gettoken (${kind} secret)`,
          query: { corpid: this.corp.corpid, corpsecret: secret },
        },
        signal,
      );
      const errcode = errcodeOf(answer);
      if (errcode !== 0) throw new WeComApiCallError(errcode, `gettoken with the ${kind} secret (corp ${this.corp.corpid})`, errmsgOf(answer));
      const token = answer.access_token;
      const expires = answer.expires_in;
      if (typeof token !== 'string' || token === '' || token.length > 2048) throw new ApiTransportError('gettoken answered without a usable access_token');
      return { token, expiresInS: typeof expires === 'number' && expires > 0 ? expires : 7200 };
    });
  }

  private async send(call: ApiCall, signal?: AbortSignal): Promise<Record<string, unknown>> {
    // Concatenated, not resolved: a base behind a gateway may carry a path prefix.
    const url = new URL(`${this.corp.apiBase.replace(/\/+$/, '')}${call.path}`);
    for (const [k, v] of Object.entries(call.query ?? {})) url.searchParams.set(k, v);
    const answer = await this.deps.transport({
      method: call.method,
      url,
      body: call.body,
      timeoutMs: this.corp.timeoutS * 1000,
      proxy: this.corp.proxy,
      proxyAuth: this.corp.proxyAuth,
      signal,
    });
    return answer.json;
  }
}

/** errcode of an answer; getcallbackip's official sample has none, which means success. */
function errcodeOf(answer: Record<string, unknown>): number {
  const code = answer.errcode;
  if (code === undefined) return 0;
  return typeof code === 'number' && Number.isInteger(code) ? code : Number.NaN;
}

function errmsgOf(answer: Record<string, unknown>): string {
  return typeof answer.errmsg === 'string' ? answer.errmsg : '';
}
