/**
 * Trusted callback sources: WeCom publishes the addresses its callbacks come from
 * (getcallbackip, stored in callback_ip_list by the directory stage). With enforcement on, a callback
 * from any other address is refused before anything else is done. Behind a reverse proxy the client
 * address comes from X-Forwarded-For, believed only when the connection itself comes from one of the
 * configured trusted proxies (the right-most address that is not a trusted proxy is the client).
 */
import { BlockList, isIP } from 'node:net';

/** `::ffff:1.2.3.4` is the IPv4 address 1.2.3.4. */
export function normalizeIp(ip: string): string {
  const trimmed = ip.trim().replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return mapped ? mapped[1]! : trimmed;
}

/** Whether `ip` matches an entry: an exact address, `a.b.c.*` (WeCom's form) or a CIDR. */
export function ipMatches(ip: string, entry: string): boolean {
  const addr = normalizeIp(ip);
  const family = isIP(addr);
  if (family === 0) return false;
  const e = entry.trim();
  if (e.includes('*')) {
    if (family !== 4) return false;
    const want = e.split('.');
    const got = addr.split('.');
    return want.length === 4 && want.every((w, i) => w === '*' || w === got[i]);
  }
  const [base = '', bits] = e.split('/');
  const baseFamily = isIP(normalizeIp(base));
  if (baseFamily === 0) return false;
  if (bits === undefined) return normalizeIp(base) === addr || (baseFamily === 6 && family === 6 && new BlockListOf(base, 128).check(addr, 6));
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (baseFamily === 4 ? 32 : 128) || baseFamily !== family) return false;
  return new BlockListOf(normalizeIp(base), prefix).check(addr, family === 4 ? 4 : 6);
}

class BlockListOf {
  private readonly list = new BlockList();
  private readonly family: 'ipv4' | 'ipv6';
  constructor(base: string, prefix: number) {
    this.family = isIP(base) === 4 ? 'ipv4' : 'ipv6';
    this.list.addSubnet(base, prefix, this.family);
  }
  check(addr: string, family: 4 | 6): boolean {
    return (family === 4 ? 'ipv4' : 'ipv6') === this.family && this.list.check(addr, this.family);
  }
}

/** The client's address: the socket's, or from X-Forwarded-For when the socket is a trusted proxy. */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trustedProxies: readonly string[]): string {
  const peer = normalizeIp(socketAddress ?? '');
  const isTrusted = (ip: string) => trustedProxies.some((t) => ipMatches(ip, t));
  if (!forwardedFor || trustedProxies.length === 0 || !isTrusted(peer)) return peer;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor)
    .split(',')
    .map((s) => normalizeIp(s))
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (isIP(hop) === 0) return peer; // a forged or garbled header: trust only the socket
    if (!isTrusted(hop)) return hop;
  }
  return hops[0] ?? peer;
}

export interface CallbackSourcePolicy {
  /** refuse callbacks from addresses not in WeCom's list */
  enforce: boolean;
  trustedProxies: readonly string[];
}

/** The check itself, with the stored list cached for a minute. */
export class CallbackSourceGuard {
  private cached: { entries: string[]; until: number } | undefined;

  /** `storedEntries` reads the stored list (DirectoryStore.callbackIps). */
  constructor(
    private readonly storedEntries: () => Promise<string[]>,
    readonly policy: CallbackSourcePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async allowed(ip: string): Promise<boolean> {
    if (!this.policy.enforce) return true;
    const now = this.now();
    if (!this.cached || this.cached.until <= now) {
      this.cached = { entries: await this.storedEntries(), until: now + 60_000 };
    }
    // An empty list (never fetched) refuses everything: enforcement fails closed.
    return this.cached.entries.some((e) => ipMatches(ip, e));
  }

  /** Forget the cached list (after a refresh in this process). */
  reset(): void {
    this.cached = undefined;
  }
}
