/**
 * One place that hands out a corp's WeCom API client with its current settings. The token cache and
 * the connection pool are shared by every client of the process, so a client made afresh (after
 * `corp secrets` changed something) still reuses valid tokens.
 */
import type { ApiRetryPolicy } from './api-retry-policy.ts';
import { type ApiTransport, createHttpTransport } from './api-transport.ts';
import type { CorpApiSettings } from './corp-api-settings.ts';
import { TokenCache } from './token-cache.ts';
import { WeComApiClient } from './wecom-api-client.ts';

export interface ApiClientsOptions {
  transport?: ApiTransport;
  policy?: ApiRetryPolicy;
  now?: () => number;
}

export class ApiClients {
  readonly tokens: TokenCache;
  private readonly transport: ApiTransport;
  private readonly ownTransport: (ApiTransport & { close(): void }) | undefined;

  constructor(
    private readonly settings: CorpApiSettings,
    private readonly options: ApiClientsOptions = {},
  ) {
    this.tokens = new TokenCache(options.now);
    this.ownTransport = options.transport ? undefined : createHttpTransport();
    this.transport = options.transport ?? this.ownTransport!;
  }

  /** A client with the corp's settings as they are now. */
  async client(corpid: string): Promise<WeComApiClient> {
    const corp = await this.settings.apiCorp(corpid);
    return new WeComApiClient(corp, { transport: this.transport, tokens: this.tokens, ...(this.options.policy ? { policy: this.options.policy } : {}) });
  }

  /**
   * A client whose `login` calls (auth/getuserinfo) use the Secret of the app that signs users in;
   * its token is cached beside the others, keyed by a hash of that Secret.
   */
  async loginClient(corpid: string, loginSecret: string): Promise<WeComApiClient> {
    const corp = await this.settings.apiCorp(corpid);
    return new WeComApiClient(
      { ...corp, secrets: { ...corp.secrets, login: loginSecret } },
      { transport: this.transport, tokens: this.tokens, ...(this.options.policy ? { policy: this.options.policy } : {}) },
    );
  }

  close(): void {
    this.ownTransport?.close();
  }
}
