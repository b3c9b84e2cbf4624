import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import type { App } from '../app/app.ts';
import type { Logger } from '../app/logger.ts';
import { ArchiveError } from '../errors/errors.ts';
import type { OpsEndpoints, OpsReply } from '../ops/ops-endpoints.ts';
import { corpStatuses } from '../status/corp-status.ts';
import { type DatabaseState, isDatabaseUnavailable } from '../store/database-health.ts';
import type { Store } from '../store/open-store.ts';
import { isLoopbackAddress } from './loopback.ts';
import { sendJson } from './send-json.ts';

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** how long /healthz waits for the database's answer */
const HEALTH_QUERY_MS = 2_000;

/**
 * Whether the database answers now. The store's health knows of an outage any query has met; a
 * quick query finds one nothing has met yet (an idle process) and, failing, tells the health too.
 */
async function databaseState(store: Store): Promise<DatabaseState> {
  if (store.health.reachable) {
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      sql`select 1`.execute(store.db).then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), HEALTH_QUERY_MS);
      }),
    ]);
    clearTimeout(timer);
    if (!answered && store.health.reachable) return { reachable: false, reason: `the database did not answer within ${HEALTH_QUERY_MS / 1000} s` };
  }
  return store.health.state();
}

/** 503 for a request the database could not serve: the outage itself is logged once, by the store. */
function sendUnavailable(res: ServerResponse): void {
  sendJson(res, 503, { error: 'DATABASE_UNREACHABLE', message: 'the database is unreachable; try again later' });
}

/**
 * The archive's HTTP server inside `run` and `demo`: health and status for operators now; the
 * callback endpoint and the UI mount here as they arrive.
 */
export interface HttpServerOptions {
  /** the WeCom callback endpoint (`/callback/{corpid}/{app}`, src/callbacks/callback-http.ts) */
  callbacks?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** /metrics, /readyz and the request-duration histogram (src/ops/) */
  ops?: OpsEndpoints;
}

function sendReply(res: ServerResponse, reply: OpsReply): void {
  res.writeHead(reply.status, { 'content-type': reply.contentType, 'cache-control': 'no-store' }).end(reply.body);
}

export async function startHttpServer(app: App, port: number, log: Logger, host = '127.0.0.1', options: HttpServerOptions = {}): Promise<HttpServer> {
  const routes: Record<string, Handler> = {
    // non-200 while the database is away, so a load balancer or monitor sees the outage
    'GET /healthz': async (_req, res) => {
      const db = await databaseState(app.store);
      if (db.reachable) sendJson(res, 200, { ok: true, database: 'reachable' });
      else sendJson(res, 503, { ok: false, database: 'unreachable', ...(db.since !== undefined ? { since: new Date(db.since).toISOString() } : {}), reason: db.reason });
    },
    'GET /api/status': async (req, res) => {
      // Corp ids, last errors, lease holders' hosts and PIDs: not for whoever can reach a server
      // that faces WeCom. Until status has a login, only this machine may read it.
      if (!isLoopbackAddress(req.socket.remoteAddress)) {
        sendJson(res, 403, { error: 'STATUS_LOOPBACK_ONLY', message: '/api/status answers only on this machine (127.0.0.1 or ::1)' });
        return;
      }
      sendJson(res, 200, { corps: await corpStatuses(app.store.db, Date.now()) });
    },
  };
  const ops = options.ops;
  if (ops) {
    routes['GET /metrics'] = async (req, res) => sendReply(res, await ops.metricsRoute(req.headers.authorization, req.socket.remoteAddress));
    routes['GET /readyz'] = async (_req, res) => sendReply(res, await ops.readyzRoute());
  }
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (ops) {
      // the route's template, never the raw path: a label value per URL would grow without bound
      const route = options.callbacks && path?.startsWith('/callback/') ? '/callback/:corpid/:app' : routes[`${req.method} ${path}`] ? path! : 'unmatched';
      const started = performance.now();
      res.once('finish', () => ops.observeRequest(route, req.method ?? 'GET', res.statusCode, (performance.now() - started) / 1000));
    }
    if (options.callbacks && path?.startsWith('/callback/')) {
      // The callback route reads its own raw body and query (a `+` in the base64 echostr must survive).
      options.callbacks(req, res).catch((err: unknown) => {
        // nothing was stored, so nothing is acknowledged: WeCom delivers the event again later
        if (isDatabaseUnavailable(err)) {
          if (!res.headersSent) sendUnavailable(res);
          return;
        }
        log.error({ stage: 'callbacks', err }, 'callback request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'INTERNAL', message: 'internal error' });
      });
      return;
    }
    const handler = routes[`${req.method} ${path}`];
    if (!handler) {
      sendJson(res, 404, { error: 'NOT_FOUND', message: `no route ${req.method} ${path}` });
      return;
    }
    handler(req, res).catch((err: unknown) => {
      if (isDatabaseUnavailable(err)) {
        if (!res.headersSent) sendUnavailable(res);
        return;
      }
      const status = err instanceof ArchiveError ? err.httpStatus : 500;
      if (status >= 500) log.error({ stage: 'http', err }, 'request failed');
      if (!res.headersSent)
        sendJson(res, status, { error: err instanceof ArchiveError ? err.code : 'INTERNAL', message: err instanceof ArchiveError ? err.message : 'internal error' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ArchiveError('PORT_UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.code ?? err.message}; choose another with --port or WECOM_ARCHIVE_PORT`, { kind: 'invalid' }),
      ),
    );
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
