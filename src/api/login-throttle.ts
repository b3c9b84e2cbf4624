/**
 * Sign-in attempts per client address and per username, counted in fixed windows in memory. It
 * slows password guessing from one address and against one account from many; the lockout after
 * repeated failures is the accounts store's (it answers `locked`). Memory stays bounded: expired
 * counters are dropped, and past MAX_KEYS the oldest go first.
 */
import { ArchiveError } from '../errors/errors.ts';

export interface LoginLimits {
  readonly perIp: number;
  readonly perUsername: number;
  readonly windowMs: number;
}

/** A sign-in refused for the rate; `retryAfterS` goes out as Retry-After. */
export class LoginRateLimited extends ArchiveError {
  constructor(readonly retryAfterS: number) {
    super('LOGIN_RATE_LIMITED', `too many sign-in attempts; try again in ${retryAfterS} s`, { kind: 'failed', httpStatus: 429 });
  }
}

const MAX_KEYS = 100_000;

export class LoginThrottle {
  private readonly counters = new Map<string, { count: number; resetAt: number }>();

  constructor(
    private readonly limits: LoginLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Counts an attempt by `ip` for `username`; throws LoginRateLimited (and counts nothing) when either
   * is over its limit. Without a username (sign in with WeCom, where WeCom names the user) only the
   * address counts.
   */
  take(ip: string, username?: string): void {
    const t = this.now();
    const keys: Array<[string, number]> = [[`ip:${ip}`, this.limits.perIp]];
    // usernames compare as the accounts store would, whatever the case or spacing typed
    if (username !== undefined) keys.push([`user:${username.trim().toLowerCase()}`, this.limits.perUsername]);
    let waitMs = 0;
    for (const [key, max] of keys) {
      const c = this.counters.get(key);
      if (c && c.resetAt > t && c.count >= max) waitMs = Math.max(waitMs, c.resetAt - t);
    }
    if (waitMs > 0) throw new LoginRateLimited(Math.ceil(waitMs / 1000));
    for (const [key] of keys) {
      const c = this.counters.get(key);
      if (c && c.resetAt > t) c.count++;
      else {
        this.counters.delete(key);
        this.counters.set(key, { count: 1, resetAt: t + this.limits.windowMs });
      }
    }
    if (this.counters.size > MAX_KEYS) this.prune(t);
  }

  private prune(t: number): void {
    for (const [key, c] of this.counters) if (c.resetAt <= t) this.counters.delete(key);
    // still too many live counters (a flood of addresses): the oldest windows go
    for (const key of this.counters.keys()) {
      if (this.counters.size <= MAX_KEYS * 0.9) break;
      this.counters.delete(key);
    }
  }
}
