/**
 * Accounts and their grants, for admins: `GET /api/users`, `POST /api/users`, disable and enable,
 * and adding and revoking grants. Thin routes over the accounts service the CLI uses
 * (src/access/account-admin.ts): it holds the rules (username, role, password, the grants a role
 * takes) and commits each change together with its audit row, so the answer comes after the row.
 * The list is no archived content, but it says who may read what: it is audited too.
 */
import type { FastifyRequest } from 'fastify';
import { type Static, Type } from '@fastify/type-provider-typebox';
import type { AccountAdmin, Actor, GrantSpec, UserSummary } from '../access/account-admin.ts';
import type { AuditTrail } from '../access/caller.ts';
import { ArchiveError, NotFoundError } from '../errors/errors.ts';
import type { ApiInstance } from './api-types.ts';
import { errorAnswers, GRANT_CHANGE_ANSWER, USER_ANSWER, USER_STATE_ANSWER, USERS_ANSWER } from './answer-schemas.ts';
import { sessionEntry, userAgent } from './session-routes.ts';

/** As account-admin.ts checks them; the schema refuses the rest before the service sees it. */
const USERNAME = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$' });
const CORPID = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const GRANT_BODY = Type.Union([
  Type.Object({ kind: Type.Literal('corp'), corpid: CORPID }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('department'), corpid: CORPID, departmentId: Type.Integer({ minimum: 1, maximum: 4_294_967_295 }) }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('conversation'), corpid: CORPID, conversation: Type.String({ minLength: 1, maxLength: 400, pattern: '^(room|pair):[^\\u0000-\\u001f]+$' }) },
    { additionalProperties: false },
  ),
  Type.Object({ kind: Type.Literal('export') }, { additionalProperties: false }),
]);
const USER_PARAMS = Type.Object({ username: USERNAME });
const NEW_USER = Type.Object(
  {
    username: USERNAME,
    role: Type.Union([Type.Literal('admin'), Type.Literal('auditor'), Type.Literal('viewer')]),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    grants: Type.Optional(Type.Array(GRANT_BODY, { maxItems: 100 })),
    wecom: Type.Optional(
      Type.Object(
        { corpid: CORPID, userid: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,64}$' }) },
        { additionalProperties: false, description: 'the WeCom account that signs in as this one' },
      ),
    ),
  },
  { additionalProperties: false },
);
type GrantBody = Static<typeof GRANT_BODY>;

/** The account as the API answers it: the service's summary, grants by their parts. */
function entry(user: UserSummary) {
  return {
    username: user.username,
    role: user.role,
    disabled: user.disabled,
    lockedUntil: user.lockedUntil,
    wecom: user.wecom,
    grants: [...user.grantSpecs],
    createdAt: user.createdAt,
    lastLogin: user.lastLogin,
  };
}

/** The schema's grant is the service's: the same kinds and fields. */
const spec = (grant: GrantBody): GrantSpec => grant;

export function userRoutes(admin: AccountAdmin, audit: AuditTrail | undefined) {
  /** The admin making the change, for the audit row the service writes with it. */
  const actor = (request: FastifyRequest): Actor => {
    const caller = request.caller!;
    return { username: caller.username, userId: caller.userId, role: caller.role, ip: request.ip, userAgent: userAgent(request), requestId: request.id };
  };
  const userEntry = async (username: string) => {
    const user = (await admin.listUsers()).find((u) => u.username === username);
    // gone between the change and the read: another admin's doing, told as it is
    if (!user) throw new NotFoundError('USER_NOT_FOUND', `there is no account ${JSON.stringify(username)}`);
    return entry(user);
  };

  return (api: ApiInstance): void => {
    api.get(
      '/api/users',
      {
        config: { access: ['admin'] },
        schema: {
          summary: 'Every account with its role, state and grants (never a password or token)',
          tags: ['users'],
          response: { 200: USERS_ANSWER, ...errorAnswers(401, 403, 500, 503) },
        },
      },
      async (request) => {
        if (!audit) throw new ArchiveError('ACCOUNTS_UNAVAILABLE', 'this process has no audit log; the accounts are not shown', { httpStatus: 503 });
        const users = await admin.listUsers();
        const { userId, username, role } = request.caller!;
        await audit.record({ ...sessionEntry(request, { userId, username, role }, 'users.list'), items: users.length });
        return { users: users.map(entry) };
      },
    );

    api.post(
      '/api/users',
      {
        config: { access: ['admin'] },
        schema: {
          summary: 'Add an account (the password rules and the grants its role takes are the CLI’s)',
          tags: ['users'],
          body: NEW_USER,
          response: { 201: USER_ANSWER, ...errorAnswers(400, 401, 403, 409, 500, 503) },
        },
      },
      async (request, reply) => {
        const { username, role, password, grants, wecom } = request.body;
        await admin.addUser(actor(request), { username, role, password, grants: (grants ?? []).map(spec), wecom });
        return reply.code(201).send({ user: await userEntry(username) });
      },
    );

    for (const [path, disabled] of [
      ['disable', true],
      ['enable', false],
    ] as const) {
      api.post(
        `/api/users/:username/${path}`,
        {
          config: { access: ['admin'] },
          schema: {
            summary: disabled ? 'Disable an account: its sessions end and its API tokens stop at once' : 'Let a disabled account sign in again',
            tags: ['users'],
            params: USER_PARAMS,
            body: Type.Object({}, { additionalProperties: false }),
            response: { 200: USER_STATE_ANSWER, ...errorAnswers(400, 401, 403, 404, 500, 503) },
          },
        },
        async (request) => {
          const { username } = request.params;
          const sessionsEnded = await admin.setDisabled(actor(request), username, disabled);
          return { user: await userEntry(username), sessionsEnded };
        },
      );
    }

    for (const [method, summary, change] of [
      ['POST', 'Grant an account one more thing to read (a grant it holds already is kept)', admin.grant.bind(admin)],
      ['DELETE', 'Take one grant back from an account', admin.revoke.bind(admin)],
    ] as const) {
      api.route({
        method,
        url: '/api/users/:username/grants',
        config: { access: ['admin'] },
        schema: {
          summary,
          tags: ['users'],
          params: USER_PARAMS,
          body: GRANT_BODY,
          response: { 200: GRANT_CHANGE_ANSWER, ...errorAnswers(400, 401, 403, 404, 500, 503) },
        },
        handler: async (request) => {
          const { username } = request.params;
          const changed = await change(actor(request), username, [spec(request.body)]);
          return { user: await userEntry(username), changed };
        },
      });
    }
  };
}
