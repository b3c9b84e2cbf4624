import type { Logger } from '../app/logger.ts';

/** Node's socket errors that mean the server could not be reached or the connection broke. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN']);
/** mysql2's codes for a connection that broke or a server going away */
const MYSQL_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_CON_COUNT_ERROR', 'ER_NORMAL_SHUTDOWN']);
/** PostgreSQL SQLSTATEs: admin/crash shutdown, starting up or shutting down, too many connections (class 08 too, below) */
const POSTGRES_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/** what pg and mysql2 say, without a code, of a connection that is gone */
const GONE = /Connection terminated|connection timeout|Client has encountered a connection error|connection is in closed state|Connection lost|server closed the connection/i;

/** errors the store's driver threw (watched-dialect.ts marks them), told apart from the SDK's or WeCom's */
const fromDatabase = new WeakSet<object>();

/** Marks an error as thrown by the database driver. */
export function markDatabaseError(err: unknown): void {
  if (err !== null && typeof err === 'object') fromDatabase.add(err);
}

/** Whether a driver error says the connection is gone or could not be made (not: the query is wrong). */
function isConnectionFailure(e: object): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || MYSQL_CODES.has(code) || POSTGRES_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // mysql2 marks the errors after which a connection cannot be used again
  if ((e as { fatal?: unknown }).fatal === true) return true;
  return e instanceof Error && GONE.test(e.message);
}

/**
 * Whether an error (or one it was wrapped around) came from the database driver and means the
 * server is away (stopped, restarting, unreachable, the connection cut), as opposed to a query that
 * is wrong, or a network error of the SDK or WeCom's API: the outage passes by itself, so the loops
 * wait for the database instead of counting it as their own failure.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (fromDatabase.has(e) && isConnectionFailure(e)) return true;
  }
  return false;
}

export interface DatabaseState {
  reachable: boolean;
  /** since when it is unreachable (ms since epoch) */
  since?: number;
  /** why, in words (never the URL's password) */
  reason?: string;
}

/** How long the probe waits between tries while the database is away: doubling, capped. */
const PROBE_FIRST_MS = 250;
const PROBE_MAX_MS = 5_000;

/**
 * Whether the database answers, as seen by every query of the process (the store's driver reports
 * each outcome here). It logs once when the database goes away and once when it is back, so loops
 * that all meet the same outage do not each log it again and again; while it is away a probe asks
 * with capped backoff, and `waitUntilReachable` lets a loop pause until the probe gets through.
 */
export class DatabaseHealth {
  private downSince: number | undefined;
  private reason = '';
  /** counts changes of state: an outcome counts only for the state its query started in */
  private epoch = 0;
  private log: Logger | undefined;
  private probe: (() => Promise<unknown>) | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeDelay = PROBE_FIRST_MS;
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly displayUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Where the two messages go (`run` and `serve` set their logger). */
  logTo(log: Logger): void {
    this.log = log;
  }

  /** The query that asks the database whether it is back (the store sets it). */
  setProbe(probe: () => Promise<unknown>): void {
    this.probe = probe;
  }

  state(): DatabaseState {
    return this.downSince === undefined ? { reachable: true } : { reachable: false, since: this.downSince, reason: this.reason };
  }

  get reachable(): boolean {
    return this.downSince === undefined;
  }

  /** Called as a query starts; hand the token to `succeeded` or `failed`. */
  begin(): number {
    return this.epoch;
  }

  succeeded(token: number): void {
    // a query that started before the outage may still end well after it began: that says nothing
    if (this.downSince === undefined || token !== this.epoch) return;
    const downForS = Math.round((this.now() - this.downSince) / 1000);
    this.downSince = undefined;
    this.epoch += 1;
    this.stopProbe();
    this.log?.info({ stage: 'store', database: this.displayUrl, downForS }, `database reachable again after ${downForS} s; work goes on`);
    for (const wake of [...this.waiters]) wake();
  }

  failed(token: number, err: unknown): void {
    if (this.downSince !== undefined || token !== this.epoch || this.closed || !isDatabaseUnavailable(err)) return;
    this.downSince = this.now();
    this.reason = describeDatabaseError(err);
    this.epoch += 1;
    this.log?.error({ stage: 'store', database: this.displayUrl, reason: this.reason }, `database unreachable (${this.reason}); work pauses and goes on by itself when it is back`);
    this.probeDelay = PROBE_FIRST_MS;
    this.scheduleProbe();
  }

  /** Resolves once the database answers again (at once if it does), or when `signal` aborts. */
  waitUntilReachable(signal: AbortSignal): Promise<void> {
    if (this.downSince === undefined || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * For a loop's catch: when `err` says the database is away, waits until it answers again and
   * returns true (the outage is logged here, once; the loop retries without a word). Otherwise
   * returns false at once and the loop handles its error as usual.
   */
  async waitIfUnavailable(err: unknown, signal: AbortSignal): Promise<boolean> {
    if (!isDatabaseUnavailable(err)) return false;
    await this.waitUntilReachable(signal);
    return true;
  }

  /**
   * Runs `work`, and runs it again once the database is back each time it fails because the
   * database is away (start-up reads, which have no loop of their own around them). Any other
   * error, or one after `signal` aborted, is thrown.
   */
  async retryWhileUnavailable<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (err) {
        if (signal.aborted || !isDatabaseUnavailable(err)) throw err;
        await this.waitUntilReachable(signal);
        // a pause, should the database fail again at once (the state changes only on new queries)
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** Stops probing (the store is closing). */
  close(): void {
    this.closed = true;
    this.stopProbe();
    for (const wake of [...this.waiters]) wake();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer || !this.probe) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      // the outcome reaches succeeded()/failed() through the driver like any query's
      void this.probe!()
        .catch(() => undefined)
        .finally(() => {
          if (this.downSince === undefined) return;
          this.probeDelay = Math.min(PROBE_MAX_MS, this.probeDelay * 2);
          this.scheduleProbe();
        });
    }, this.probeDelay);
    // a probe alone never keeps the process alive
    this.probeTimer.unref();
  }

  private stopProbe(): void {
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }
}

/**
 * Says in words why the database could not be used: refused, unknown host, wrong password, no such
 * database… for a person reading the message, with the driver's code kept in brackets.
 */
export function describeDatabaseError(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; errno?: unknown; message?: unknown; address?: unknown; port?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? e.message : String(err);
  const where = typeof e.address === 'string' ? ` at ${e.address}${typeof e.port === 'number' ? `:${e.port}` : ''}` : '';
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused${where}: is the server running, and on this host and port? (ECONNREFUSED)`;
    case 'ECONNRESET':
      return 'the connection was reset by the server or the network (ECONNRESET)';
    case 'ETIMEDOUT':
      return `no answer${where} in time: a firewall, or the wrong host? (ETIMEDOUT)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host name could not be resolved (${code})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `the host cannot be reached (${code})`;
    // the server's own words name the user or database (never the password)
    case '28P01':
    case '28000':
    case 'ER_ACCESS_DENIED_ERROR':
    case 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
      return `the server refused the login: ${oneLine(message)} (${code})`;
    case '3D000':
    case 'ER_BAD_DB_ERROR':
      return `the database does not exist on the server, create it first: ${oneLine(message)} (${code})`;
    case '57P01':
    case '57P02':
    case 'ER_SERVER_SHUTDOWN':
    case 'ER_NORMAL_SHUTDOWN':
      return `the server is shutting down (${code})`;
    case '57P03':
      return 'the server is starting up or shutting down and does not accept connections (57P03)';
    case '53300':
    case 'ER_CON_COUNT_ERROR':
      return `the server has too many connections (${code})`;
    case 'PROTOCOL_CONNECTION_LOST':
      return 'the server closed the connection (PROTOCOL_CONNECTION_LOST)';
    default:
      return code ? `${oneLine(message)} (${code})` : oneLine(message);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 300) || 'unknown error';
}
