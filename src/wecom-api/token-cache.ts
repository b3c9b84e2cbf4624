/**
 * Access tokens per corp and secret (from `gettoken`, valid for the `expires_in` seconds it
 * answers): cached until shortly before they expire, fetched by one caller at a time (concurrent
 * callers wait for the same fetch), and dropped when WeCom refuses them (40014/42001). Keys never
 * contain the secret itself.
 */
export interface FetchedToken {
  token: string;
  expiresInS: number;
}

interface Entry {
  token: string;
  expiresAt: number;
}

export class TokenCache {
  private readonly tokens = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<string>>();
  /** how many tokens were fetched, per key (status and tests) */
  readonly fetches = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The cached token for `key`, or the one `fetch` brings (only one fetch per key at a time). */
  async get(key: string, fetch: () => Promise<FetchedToken>): Promise<string> {
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    const running = this.inflight.get(key);
    if (running) return running;
    const started = (async () => {
      try {
        const fresh = await fetch();
        this.fetches.set(key, (this.fetches.get(key) ?? 0) + 1);
        // Refresh a little early: a token used at the last second may expire on its way.
        const margin = Math.min(300, Math.max(1, Math.floor(fresh.expiresInS / 10)));
        this.tokens.set(key, { token: fresh.token, expiresAt: this.now() + (fresh.expiresInS - margin) * 1000 });
        return fresh.token;
      } finally {
        this.inflight.delete(key);
      }
    })();
    this.inflight.set(key, started);
    return started;
  }

  /**
   * Forgets `token` after WeCom refused it. Only that token: if another caller already fetched a
   * newer one, it stays (so ten failing calls cause one refresh, not ten).
   */
  invalidate(key: string, token: string): void {
    if (this.tokens.get(key)?.token === token) this.tokens.delete(key);
  }

  clear(): void {
    this.tokens.clear();
  }
}
