/**
 * What the HTTP edge adds to Fastify's types, and what every route declares: who may call it.
 * Route files build on `ApiInstance` (Fastify with the TypeBox type provider), so a route's
 * schema types its handler's params, query and body.
 */
import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuditTrail, Authenticator, Caller, Role } from '../access/caller.ts';

/**
 * Who may call a route:
 * - 'public': anyone (health, the WeCom callback, sign-in, the OpenAPI document);
 * - 'signed-in': any caller with a valid session cookie or bearer token;
 * - a list of roles: a caller with one of them.
 */
export type RouteAccess = 'public' | 'signed-in' | readonly Role[];

/** A route as it was added: for the OpenAPI check and for tests that walk every route. */
export interface DeclaredRoute {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
  /** left out of the OpenAPI document (the callback endpoint's catch-all) */
  readonly hidden: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** every route added so far, one entry per method */
    declaredRoutes: readonly DeclaredRoute[];
  }
  interface FastifyRequest {
    /** the caller resolved from the session cookie or the bearer token; undefined when there is none */
    caller: Caller | undefined;
    /** the session token the caller came with (for signing out); never logged */
    sessionToken: string | undefined;
    /** the reason the caller gave for this read (X-Access-Reason, access-reason.ts), for its audit row */
    accessReason: string | undefined;
  }
  interface FastifyContextConfig {
    /** required on every route (checked when the route is added) */
    access?: RouteAccess;
    /** the WeCom callback only: it has no session, and is signed by WeCom instead */
    csrfExempt?: boolean;
    /** the WeCom callback only: its handler reads the raw body itself, so no body schema applies */
    rawBody?: boolean;
    /** the route opens a conversation's content or searches: a viewer gives a reason while require_reason is on */
    needsReason?: boolean;
  }
}

/** The accounts store as the edge uses it: who is calling, and the audit log of sign-ins. */
export interface AccessServices {
  readonly authenticator: Authenticator;
  readonly audit: AuditTrail;
}

export type ApiInstance = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, TypeBoxTypeProvider>;

/** A group of routes (one resource): registered inside the edge, after its hooks. */
export type ApiRoutes = (api: ApiInstance) => void | Promise<void>;
