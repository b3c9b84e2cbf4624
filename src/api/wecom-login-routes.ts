/**
 * Sign in with WeCom (网页授权 in the WeCom client, 扫码登录 elsewhere):
 * - `GET /api/session/methods` says how one may sign in, for the login page;
 * - `GET /api/session/wecom?corp=&next=` remembers a random `state` in a cookie and sends the
 *   browser to WeCom's authorize page;
 * - `GET /api/session/wecom/callback?code=&state=` is where WeCom sends it back: the state must be
 *   the cookie's, the code is exchanged for the member's userid, and the account bound to that
 *   userid in that corp signs in with the same session cookie as a password sign-in.
 * Every callback is a sign-in attempt: rate-limited per address like password sign-ins, and audited
 * before the answer, success or failure. Failures send the browser to `/login?error=CODE`, with a
 * code of ours only: nothing WeCom said reaches the page.
 *
 * These are GET requests (WeCom redirects), so the Origin check of csrf-guard.ts does not apply;
 * the state cookie is the defence against a forged callback (login CSRF): only the browser that
 * started a sign-in holds the state WeCom brings back.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { AuditEntry } from '../access/caller.ts';
import { authorizeModeOf, encodePending, matchPending, newState, safeNext, STATE_TTL_MS, type WecomSignIn, WECOM_CALLBACK_PATH } from '../access/wecom-sign-in.ts';
import type { ErrorCode } from '../errors/errors.ts';
import type { AccessServices, ApiInstance } from './api-types.ts';
import { ERROR_BODY } from './error-schema.ts';
import type { LoginThrottle } from './login-throttle.ts';
import { sessionEntry, setSessionCookie, userAgent } from './session-routes.ts';

/** What the routes need of sign-in with WeCom (access/wecom-sign-in.ts). */
export type WecomSignInService = Pick<WecomSignIn, 'methods' | 'authorizeUrl' | 'identify'>;

/** Holds the pending sign-in between the start and WeCom's redirect back. */
export const WECOM_STATE_COOKIE = 'wecom_archive_wecom_state';
/** The cookie goes to the start and callback routes only. */
const STATE_COOKIE_PATH = '/api/session/wecom';

const CORPID = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'the corp whose members sign in' });
const REDIRECT = Type.Null({ description: 'a redirect (302): see the Location header' });

const METHODS = Type.Object(
  {
    password: Type.Boolean({ description: 'username and password (POST /api/session)' }),
    wecom: Type.Array(
      Type.Object({
        corpid: Type.String(),
        name: Type.String({ description: "the button's name" }),
        url: Type.String({ description: 'where the button goes: GET /api/session/wecom?corp=…' }),
      }),
    ),
  },
  { description: 'how one may sign in' },
);

/** Where a failed sign-in sends the browser: the login page, with a code of ours. */
function loginError(code: ErrorCode): string {
  return `/login?error=${code}`;
}

/** The audit reason of each failure, and the code the login page is given. */
const FAILURES = {
  throttled: 'LOGIN_RATE_LIMITED',
  state_mismatch: 'WECOM_STATE_INVALID',
  code_missing: 'WECOM_CODE_INVALID',
  code_invalid: 'WECOM_CODE_INVALID',
  no_app: 'WECOM_LOGIN_UNAVAILABLE',
  wecom_error: 'WECOM_UNAVAILABLE',
  not_member: 'WECOM_NOT_MEMBER',
  refused: 'WECOM_NOT_BOUND',
  disabled: 'LOGIN_DISABLED',
  locked: 'LOGIN_LOCKED',
} as const satisfies Record<string, ErrorCode>;

type Failure = keyof typeof FAILURES;

export function wecomLoginRoutes(access: AccessServices | undefined, signIn: WecomSignInService | undefined, throttle: LoginThrottle, now: () => number) {
  /** An audit row of a sign-in with WeCom: who (the account, or the WeCom member or corp tried), and how it went. */
  const entry = (
    request: FastifyRequest,
    who: Pick<AuditEntry, 'userId' | 'username' | 'role'>,
    action: string,
    corpid: string | undefined,
    query: Record<string, string>,
  ): AuditEntry => ({
    ...sessionEntry(request, who, action),
    corpid,
    query: { via: 'wecom', ...query },
  });

  return (api: ApiInstance): void => {
    api.get(
      '/api/session/methods',
      {
        config: { access: 'public' },
        schema: { summary: 'How one may sign in: a password, and WeCom for the corps that have an app for it', tags: ['session'], response: { 200: METHODS } },
      },
      async () => {
        const corps = signIn ? await signIn.methods() : [];
        return { password: true, wecom: corps.map((c) => ({ corpid: c.corpid, name: c.name, url: `/api/session/wecom?corp=${encodeURIComponent(c.corpid)}` })) };
      },
    );

    api.get(
      '/api/session/wecom',
      {
        config: { access: 'public' },
        schema: {
          summary: "Start signing in with WeCom: sets the state cookie and redirects to WeCom's authorize page (QR code, or 网页授权 inside the WeCom client)",
          tags: ['session'],
          querystring: Type.Object(
            { corp: CORPID, next: Type.Optional(Type.String({ maxLength: 1024, description: 'a path on this server to go to once signed in; anything else is dropped' })) },
            { additionalProperties: false },
          ),
          response: { 302: REDIRECT, 400: ERROR_BODY },
        },
      },
      async (request, reply) => {
        const { corp, next } = request.query;
        const state = newState();
        const url = signIn ? await signIn.authorizeUrl(corp, state, authorizeModeOf(userAgent(request))) : undefined;
        if (url === undefined) return redirect(reply, loginError('WECOM_LOGIN_UNAVAILABLE'));
        // SameSite=Lax, not Strict: the browser comes back from WeCom's site by a top-level GET,
        // on which a Strict cookie is not sent, so the state could never be checked. Lax sends it
        // on that navigation only, never on another site's subrequests or POSTs.
        reply.setCookie(WECOM_STATE_COOKIE, encodePending({ state, corpid: corp, next: safeNext(next), startedAt: now() }), {
          httpOnly: true,
          sameSite: 'lax',
          path: STATE_COOKIE_PATH,
          secure: request.protocol === 'https',
          maxAge: STATE_TTL_MS / 1000,
        });
        return redirect(reply, url);
      },
    );

    api.get(
      WECOM_CALLBACK_PATH,
      {
        config: { access: 'public' },
        schema: {
          summary:
            'Where WeCom sends the browser back: checks the state, asks WeCom who the code names, signs the bound account in, and redirects to next (or to /login?error=CODE)',
          tags: ['session'],
          // WeCom may add parameters of its own (appid): they are ignored, not refused
          querystring: Type.Object({ code: Type.Optional(Type.String({ maxLength: 512 })), state: Type.Optional(Type.String({ maxLength: 128 })) }),
          response: { 302: REDIRECT, 400: ERROR_BODY },
        },
      },
      async (request, reply) => {
        // the state is good for one try, whatever happens next
        const pending = matchPending(request.cookies[WECOM_STATE_COOKIE], request.query.state, now());
        reply.clearCookie(WECOM_STATE_COOKIE, { path: STATE_COOKIE_PATH });
        const corpid = pending?.corpid;
        const fail = async (failure: Failure, tried: string | undefined = undefined): Promise<FastifyReply> => {
          const who = { userId: undefined, username: tried ?? (corpid === undefined ? 'wecom' : `wecom:${corpid}`), role: undefined };
          await access?.audit.record(entry(request, who, 'login_failed', corpid, { outcome: failure }));
          return redirect(reply, loginError(FAILURES[failure]));
        };
        try {
          throttle.take(request.ip);
        } catch {
          return fail('throttled');
        }
        if (!access || !signIn) return fail('no_app');
        if (!pending) return fail('state_mismatch');
        const code = request.query.code;
        if (code === undefined || code === '') return fail('code_missing');
        const identity = await signIn.identify(pending.corpid, code);
        if ('reason' in identity) {
          if (identity.cause) request.log.warn({ err: identity.cause, corpid: pending.corpid, wecomCode: identity.wecomCode }, 'sign-in with WeCom: WeCom did not name the user');
          return fail(identity.reason);
        }
        if (identity.kind === 'outsider') return fail('not_member');
        const tried = `wecom:${pending.corpid}:${identity.userid}`;
        const result = await access.authenticator.loginWithWecom(pending.corpid, identity.userid, { ip: request.ip, userAgent: userAgent(request) });
        if (!result.ok) return fail(result.reason, tried);
        try {
          await access.audit.record(entry(request, result.caller, 'login', pending.corpid, { wecom: tried.slice('wecom:'.length) }));
        } catch (err) {
          // the audit log does not know of this session: it must not live on
          await access.authenticator.endSession(result.sessionToken).catch((endErr: unknown) => request.log.error({ err: endErr }, 'could not end an unaudited session'));
          throw err;
        }
        // The session cookie stays SameSite=Strict: this answer sets it, but the redirect below is
        // part of a navigation WeCom's site started, so the browser may leave it off that one
        // request; the web UI's own requests from then on carry it.
        setSessionCookie(request, reply, result.sessionToken, result.expiresAt);
        return redirect(reply, pending.next ?? '/');
      },
    );
  };
}

/** A 302 that no cache keeps (it carries a fresh state, or follows a sign-in). */
function redirect(reply: FastifyReply, location: string): FastifyReply {
  return reply.header('cache-control', 'no-store').redirect(location, 302);
}
