/**
 * The HTTP edge, assembled: Fastify with TypeBox schemas, one error mapping, request logs,
 * security headers, the OpenAPI document, and the hooks every route passes (CSRF, then the caller
 * and the route's access rule). Route files plug in as ApiRoutes; each must declare its access and
 * schemas for its params and body, or it is refused when added.
 */
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, LogController, type RouteOptions } from 'fastify';
import cookie from '@fastify/cookie';
import helmet from '@fastify/helmet';
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { readAccessSettings } from '../access/access-settings.ts';
import type { App } from '../app/app.ts';
import type { Logger } from '../app/logger.ts';
import type { CallbackRoute } from '../callbacks/callback-http.ts';
import { createMediaStore } from '../media/media-runtime.ts';
import type { OpsEndpoints } from '../ops/ops-endpoints.ts';
import { accessHook } from './access-hook.ts';
import { reasonHook } from './access-reason.ts';
import type { AccessServices, ApiInstance, ApiRoutes, DeclaredRoute } from './api-types.ts';
import { callbackRoutes } from './callback-mount.ts';
import { csrfGuard } from './csrf-guard.ts';
import { handleError, handleNotFound } from './error-mapping.ts';
import { healthRoutes } from './health-routes.ts';
import { type MediaRouteDeps, mediaRoutes } from './media-routes.ts';
import { type LoginLimits, LoginThrottle } from './login-throttle.ts';
import { openApiRoutes, registerOpenApi } from './openapi.ts';
import { opsActionRoutes } from './ops-action-routes.ts';
import { opsRoutes } from './ops-routes.ts';
import { echoRequestId, logRequest, requestId } from './request-log.ts';
import { readRoutes } from './read-routes.ts';
import { sessionRoutes } from './session-routes.ts';
import { statusRoutes } from './status-routes.ts';
import { userRoutes } from './user-routes.ts';
import { webRoutes } from './web-routes.ts';
import { type WecomSignInService, wecomLoginRoutes } from './wecom-login-routes.ts';
import { WecomSignIn } from '../access/wecom-sign-in.ts';
import { ApiClients } from '../wecom-api/api-clients.ts';

/** JSON bodies of the API are small (a sign-in, a filter); the callback endpoint keeps its own limit. */
export const API_BODY_LIMIT = 64 * 1024;

export interface ApiOptions {
  /** the accounts store: without it no one can sign in (POST /api/session answers 503) */
  readonly access?: AccessServices | undefined;
  /** the WeCom callback endpoint (`/callback/{corpid}/{app}`) */
  readonly callbacks?: CallbackRoute | undefined;
  /** believe one reverse proxy's X-Forwarded-For/-Proto/-Host (config `--trust-proxy`); default: the app's config */
  readonly trustProxy?: boolean;
  /** sign-in rate limits; default: the app's config */
  readonly loginLimits?: LoginLimits;
  /** more route groups (the read routes), registered after the edge's own */
  readonly routes?: readonly ApiRoutes[];
  /** /metrics, /readyz and the request-duration histogram (src/ops/) */
  readonly ops?: OpsEndpoints | undefined;
  /** where media files are read (GET /api/corps/:corpid/media/:sha256); default: the store of the app's config */
  readonly media?: MediaRouteDeps;
  /** sign in with WeCom; default: the app's login apps, with a WeCom API client of the server's own */
  readonly wecomSignIn?: WecomSignInService;
  /** the built web UI served at `/`; default: the package's dist/web */
  readonly webRoot?: string;
  readonly now?: () => number;
}

/** The version of the API the OpenAPI document describes: raised when a route changes incompatibly. */
const API_VERSION = '1';

/** Every route says who may call it, and validates every part of the request it reads. */
function checkDeclarations(route: RouteOptions, declared: DeclaredRoute[]): void {
  const name = `${String(route.method)} ${route.url}`;
  const access = route.config?.access;
  if (access === undefined) throw new Error(`route ${name} declares no access (config.access)`);
  if (Array.isArray(access) && access.length === 0) throw new Error(`route ${name} names no role`);
  if (/[:*]/.test(route.url ?? '') && !route.schema?.params) throw new Error(`route ${name} has parameters but no params schema`);
  const methods = ([] as string[]).concat(route.method);
  if (methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH') && !route.schema?.body && route.config?.rawBody !== true)
    throw new Error(`route ${name} takes a body but has no body schema`);
  for (const method of methods) declared.push({ method, url: route.url ?? '', access, hidden: route.schema?.hide === true });
}

/** Sign in with WeCom over a WeCom API client made for this server (closed with it). */
function ownWecomSignIn(app: App, api: ApiInstance): WecomSignInService {
  const clients = new ApiClients(app.apiSettings);
  api.addHook('onClose', async () => clients.close());
  return new WecomSignIn(app.loginApps, (corpid, secret) => clients.loginClient(corpid, secret));
}

/** A malformed HTTP request (before any route): a JSON answer like every other, then the connection closes. */
function clientError(_err: Error, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: 'REQUEST_INVALID', message: 'malformed HTTP request' });
  socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Builds the server (not listening: `startHttpServer` listens; tests use `inject`). */
export async function buildApi(app: App, log: Logger, options: ApiOptions = {}): Promise<ApiInstance> {
  const settings = app.config.http;
  const trustProxy = options.trustProxy ?? settings.trustProxy;
  const limits = options.loginLimits ?? { perIp: settings.loginPerIp, perUsername: settings.loginPerUsername, windowMs: settings.loginWindowS * 1000 };
  const now = options.now ?? Date.now;
  const api = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // logRequest writes the one line per request, without the URL's query
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    requestIdHeader: false,
    // one hop: the proxy's own address is the socket's, the client's is the last X-Forwarded-For entry
    trustProxy: trustProxy ? (_address: string, hop: number) => hop < 1 : false,
    bodyLimit: API_BODY_LIMIT,
    clientErrorHandler: clientError,
    // a URL the router cannot decode (`%FF`), or a parameter over the length: the same mapping
    frameworkErrors: handleError,
    routerOptions: { maxParamLength: 256 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // the API speaks JSON; a text body is refused with 415 (the callback context has its own parser)
  api.removeContentTypeParser('text/plain');
  // TypeBox checks the schemas: a property a schema does not allow is refused, not silently
  // dropped, and only params, query and headers are converted from text (a body's types are its own)
  api.setValidatorCompiler(TypeBoxValidatorCompiler);
  api.setErrorHandler(handleError);
  api.setNotFoundHandler(handleNotFound);
  api.decorateRequest('caller', undefined);
  api.decorateRequest('sessionToken', undefined);
  api.decorateRequest('accessReason', undefined);
  const declared: DeclaredRoute[] = [];
  api.decorate('declaredRoutes', declared);
  api.addHook('onRoute', (route) => checkDeclarations(route, declared));

  await api.register(cookie);
  await api.register(helmet, {
    // a strict policy for the same-origin web UI to come: its own scripts and styles only, nothing inline, no framing
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // HSTS only for this host: other hosts of the company's domain may still serve plain HTTP
    strictTransportSecurity: { maxAge: 180 * 86_400, includeSubDomains: false },
  });
  await registerOpenApi(api, API_VERSION);

  api.addHook('onRequest', echoRequestId);
  api.addHook('onRequest', csrfGuard);
  api.addHook('onRequest', accessHook(options.access));
  // read per request that asks, so `settings set require_reason` applies to the next request
  const requireReason = async () => (await readAccessSettings(app.store.db)).requireReason;
  api.addHook('onRequest', reasonHook(requireReason));
  api.addHook('onResponse', logRequest);

  if (options.ops) opsRoutes(options.ops)(api);
  healthRoutes(app.store)(api);
  statusRoutes(app.store, now)(api);
  opsActionRoutes(app.store, app.corps, options.access?.audit, now)(api);
  // one throttle: password and WeCom sign-ins from one address count together
  const throttle = new LoginThrottle(limits, now);
  sessionRoutes(options.access, throttle, () => readAccessSettings(app.store.db))(api);
  wecomLoginRoutes(options.access, options.wecomSignIn ?? ownWecomSignIn(app, api), throttle, now)(api);
  readRoutes(app.store, options.access?.audit, now)(api);
  // accounts are managed through the app's own accounts service, whichever authenticator signs callers in
  userRoutes(app.access.admin, options.access?.audit)(api);
  const media = options.media ?? { store: createMediaStore(app.config.media), scratchDir: app.config.media.partialDir };
  // a store made here (an S3 client holds connections) is closed with the server
  if (!options.media) api.addHook('onClose', async () => media.store.close?.());
  mediaRoutes(app.store, options.access, media)(api);
  openApiRoutes(api);
  if (options.callbacks) await api.register(callbackRoutes(options.callbacks, log));
  for (const routes of options.routes ?? []) await api.register(async (scope: ApiInstance) => routes(scope));
  webRoutes(options.webRoot)(api);
  return api;
}
