/**
 * The shapes of the API's answers, for the routes' response schemas and so the OpenAPI document.
 * Fastify serializes an answer with its schema: a property left out here is dropped from the answer,
 * so each shape follows its read function's type (src/reading, src/search, src/directory,
 * src/access, src/status) field for field. Ids and seq are strings; times are milliseconds since
 * the epoch. Only what is free-form by nature (a message's parsed content, an OpenAPI document, the
 * nested parts of an operator's status) stays an open object.
 */
import { type TSchema, Type } from '@fastify/type-provider-typebox';
import { CONVERSATION_KINDS, type ConversationKind } from '../store/vocabulary.ts';
import { ERROR_BODY } from './error-schema.ts';

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const MS = Type.Integer({ description: 'milliseconds since the epoch' });
const CURSOR = nullable(Type.String({ description: 'an opaque cursor to pass back; null at the end' }));
/** An object whose properties are not described one by one. */
const OPEN = (description: string) => Type.Object({}, { additionalProperties: true, description });

/** The error answers a route can give, by status: each the one error body (error-mapping.ts). */
export function errorAnswers(...statuses: number[]): Record<number, typeof ERROR_BODY> {
  return Object.fromEntries(statuses.map((s) => [s, ERROR_BODY]));
}

export const PERSON = Type.Object(
  {
    id: Type.String(),
    name: nullable(Type.String()),
    kind: Type.Union([Type.Literal('member'), Type.Literal('customer'), Type.Literal('robot'), Type.Literal('unknown')]),
  },
  { description: 'who an id is; name null when the directory does not know it' },
);

export const CORPS_ANSWER = Type.Object({
  corps: Type.Array(
    Type.Object({
      corpid: Type.String(),
      state: Type.Union([Type.Literal('ok'), Type.Literal('retrying'), Type.Literal('stopped')]),
      newestMsgtime: nullable(MS),
      lagMs: nullable(Type.Number()),
      hoursLeft: nullable(Type.Number()),
      notIndexed: Type.Integer(),
    }),
  ),
});

export const CONVERSATION_PAGE = Type.Object({
  conversations: Type.Array(
    Type.Object({
      conversation: Type.String({ description: 'the conversation key' }),
      kind: Type.Unsafe<ConversationKind>({ type: 'string', enum: [...CONVERSATION_KINDS] }),
      roomid: nullable(Type.String()),
      name: nullable(Type.String({ description: "a group's name" })),
      participants: Type.Array(PERSON),
      participantCount: Type.Integer(),
      messageCount: Type.Integer(),
      firstMsgtime: MS,
      last: Type.Object({ msgid: Type.String(), msgtime: MS, msgtype: Type.String(), from: PERSON, preview: nullable(Type.String()) }),
      consent: Type.Array(
        Type.Object({ id: Type.String(), status: Type.Union([Type.Literal('agree'), Type.Literal('disagree')]) }, { description: "an external contact's consent to archiving" }),
      ),
    }),
  ),
  next: CURSOR,
});

const MEDIA_VIEW = Type.Object({
  slot: Type.Integer(),
  path: Type.String({ description: 'where in the message, e.g. image, mixed.item[2]' }),
  kind: Type.String(),
  state: Type.String({ description: 'pending | downloading | done | unverified | failed | expired' }),
  sha256: nullable(Type.String({ description: 'GET /api/corps/{corpid}/media/{sha256} serves it' })),
  size: nullable(Type.Integer()),
  fileName: nullable(Type.String()),
  contentType: nullable(Type.String()),
  mp3: Type.Boolean(),
  error: nullable(Type.String()),
});

export const MESSAGE_VIEW = Type.Object({
  msgid: Type.String(),
  seq: Type.String({ description: 'decimal, unsigned 64-bit' }),
  msgtime: MS,
  msgtype: Type.String(),
  action: Type.String({ description: 'send | recall | switch' }),
  conversation: Type.String(),
  from: PERSON,
  content: nullable(OPEN("the type's content object as WeCom sent it (integers beyond 2^53 as strings); text, never HTML")),
  preview: nullable(Type.String()),
  media: Type.Array(MEDIA_VIEW),
  revokes: nullable(Type.String({ description: 'a revoke message: the msgid it recalled' })),
  revokedBy: nullable(Type.String({ description: 'a recalled message: the msgid of the revoke' })),
  quote: nullable(
    Type.Object({
      user: Type.String(),
      quote: Type.String(),
      content: Type.String(),
      target: nullable(Type.Object({ msgid: Type.String(), preview: Type.String() })),
    }),
  ),
  knownType: Type.Boolean(),
  isExternal: Type.Boolean(),
});

export const MESSAGE_PAGE = Type.Object({
  conversation: Type.String(),
  messages: Type.Array(MESSAGE_VIEW, { description: 'in time order' }),
  before: CURSOR,
  after: CURSOR,
});

export const DAYS_ANSWER = Type.Object({
  month: Type.String(),
  utcOffsetMinutes: Type.Integer(),
  days: Type.Array(Type.String({ description: 'YYYY-MM-DD' })),
});

export const MESSAGE_ANSWER = Type.Object({ message: MESSAGE_VIEW, raw: Type.String({ description: 'the decrypted JSON as WeCom sent it' }) });

export const PEOPLE_PAGE = Type.Object({
  people: Type.Array(
    Type.Object({
      kind: Type.Union([Type.Literal('member'), Type.Literal('customer'), Type.Literal('group')]),
      id: Type.String(),
      name: nullable(Type.String()),
      match: Type.String({ description: 'how the text matched: id, name, pinyin, initials, … prefix, name part' }),
    }),
  ),
  next: CURSOR,
});

export const SEARCH_PAGE = Type.Object({
  hits: Type.Array(
    Type.Object({
      corpid: Type.String(),
      msgid: Type.String(),
      seq: Type.String(),
      msgtime: MS,
      from: Type.String(),
      from_name: nullable(Type.String()),
      conversation: Type.String(),
      conversation_name: nullable(Type.String({ description: "a group's name from the directory" })),
      conversation_people: Type.Array(PERSON, { description: 'the two people of a 1:1 chat, with their names (none for a group)' }),
      roomid: Type.String(),
      msgtype: Type.String(),
      snippet: Type.Optional(
        Type.Object({
          field: Type.Integer(),
          text: Type.String(),
          ranges: Type.Array(Type.Tuple([Type.Integer(), Type.Integer()]), { description: 'matched stretches of text, [start, end)' }),
        }),
      ),
    }),
  ),
  next: CURSOR,
  notIndexed: Type.Integer({ description: 'stored messages the index has not taken in yet: not searched' }),
  count: Type.Optional(
    Type.Object(
      { n: Type.Integer(), atLeast: Type.Boolean({ description: 'true when counting stopped at the cap, or checked only some candidates on their text: there are at least n' }) },
      { description: 'how many messages match in all, when asked (count=true)' },
    ),
  ),
  senders: Type.Array(Type.Object({ id: Type.String(), name: nullable(Type.String()) }), { description: 'who the from filter stands for' }),
});

export const AUDIT_PAGE = Type.Object({
  rows: Type.Array(
    Type.Object({
      id: Type.Integer(),
      at: MS,
      user_id: nullable(Type.Integer()),
      username: Type.String(),
      role: nullable(Type.String()),
      action: Type.String(),
      corpid: nullable(Type.String()),
      conversation: nullable(Type.String()),
      query: nullable(Type.String({ description: 'the filters as canonical JSON' })),
      items: nullable(Type.Integer()),
      reason: nullable(Type.String({ description: 'the reason the caller gave (X-Access-Reason)' })),
      ip: nullable(Type.String()),
      user_agent: nullable(Type.String()),
      request_id: nullable(Type.String()),
      prev_hash: Type.String(),
      hash: Type.String(),
    }),
  ),
  next: nullable(Type.Integer({ description: 'the id to pass as after' })),
});

/** One grant by its parts (src/access/account-admin.ts GrantSpec): what an account may read, or `export`. */
export const GRANT = Type.Union(
  [
    Type.Object({ kind: Type.Literal('corp'), corpid: Type.String() }, { description: 'a whole corp' }),
    Type.Object({ kind: Type.Literal('department'), corpid: Type.String(), departmentId: Type.Integer() }, { description: "the conversations of a department's members" }),
    Type.Object(
      { kind: Type.Literal('conversation'), corpid: Type.String(), conversation: Type.String({ description: 'the conversation key' }) },
      { description: 'one conversation' },
    ),
    Type.Object({ kind: Type.Literal('export') }, { description: 'a viewer may export' }),
  ],
  { description: 'a grant' },
);

/** An account as an admin sees it: never a password hash or a token. */
export const USER_ENTRY = Type.Object({
  username: Type.String(),
  role: Type.Union([Type.Literal('admin'), Type.Literal('auditor'), Type.Literal('viewer')]),
  disabled: Type.Boolean(),
  lockedUntil: nullable(Type.Integer({ description: 'milliseconds since the epoch: locked after failed sign-ins until then' })),
  wecom: nullable(Type.String({ description: 'the WeCom account that signs in as this one, CORPID:USERID' })),
  grants: Type.Array(GRANT, { description: 'an admin reads everything and holds none' }),
  createdAt: MS,
  lastLogin: nullable(Type.Integer({ description: 'milliseconds since the epoch: when its latest session opened' })),
});

export const USERS_ANSWER = Type.Object({ users: Type.Array(USER_ENTRY) });
export const USER_ANSWER = Type.Object({ user: USER_ENTRY });
export const USER_STATE_ANSWER = Type.Object({
  user: USER_ENTRY,
  sessionsEnded: Type.Integer({ description: 'the sessions a disable ended (0 for an enable)' }),
});
export const GRANT_CHANGE_ANSWER = Type.Object({
  user: USER_ENTRY,
  changed: Type.Integer({ description: 'grants added that were not held, or revoked that were' }),
});

const GAPS = Type.Object({
  count: Type.Integer(),
  latest: Type.Array(Type.Object({ afterSeq: Type.String(), nextSeq: Type.String(), detectedAt: MS, cursorAgeMs: nullable(Type.Number()), note: Type.String() })),
});

export const STATUS_ANSWER = Type.Object({
  corps: Type.Array(
    Type.Object(
      {
        corpid: Type.String(),
        configured: Type.Boolean(),
        cursorSeq: Type.String(),
        state: Type.String(),
        lastErrorCode: nullable(Type.Integer()),
        lastError: nullable(Type.String()),
        messages: Type.Integer(),
        unknownTypes: Type.Integer(),
        pending: Type.Integer(),
        waiting: Type.Array(OPEN('envelopes that wait for one reason and code')),
        gaps: GAPS,
        seqJumps: GAPS,
        lastSuccessAt: nullable(MS),
        pullLease: nullable(OPEN("the process that holds the corp's pull")),
        newestMsgtime: nullable(MS),
        lagMs: nullable(Type.Number()),
        hoursLeft: nullable(Type.Number()),
        notIndexed: Type.Integer(),
        sdkHostRestarts: OPEN('native SDK host restarts: count and latest'),
        media: OPEN('media jobs by state, bytes stored, voice copies, latest failures'),
        callbacks: OPEN('stored callback events'),
        directory: OPEN('directory counts and freshness'),
      },
      { description: "a corp's status, as `wecom-archive status --json` prints it" },
    ),
  ),
});

export const MEDIA_FAILURES_ANSWER = Type.Object({
  failures: Type.Array(
    Type.Object(
      {
        id: Type.Integer({ description: 'the media job' }),
        msgid: Type.String(),
        kind: Type.String({ description: 'image | voice | video | file | emotion | meeting_voice_call …' }),
        state: Type.String({ description: 'failed | expired' }),
        fileName: nullable(Type.String({ description: "a file's name as WeCom gave it" })),
        errorCode: nullable(Type.Integer({ description: "the WeCom SDK code of the last failure, kept as is (10010: WeCom's copy expired)" })),
        error: nullable(Type.String({ description: 'why it failed' })),
        attempts: Type.Integer({ description: 'whole-file downloads started' }),
        updatedAt: MS,
      },
      { description: 'a failed or expired media job: which file and why, never the message content' },
    ),
    { description: 'newest first' },
  ),
});

export const MEDIA_RETRY_ANSWER = Type.Object({ requeued: Type.Integer({ description: 'jobs put back to pending, from the first byte' }) });

export const CALLBACK_FAILURES_ANSWER = Type.Object({
  failures: Type.Array(
    Type.Object(
      {
        id: Type.Integer({ description: 'the inbox entry (callback replay --id)' }),
        app: Type.String({ description: 'the callback app that received it' }),
        kind: Type.String(),
        event: nullable(Type.String()),
        changeType: nullable(Type.String()),
        attempts: Type.Integer(),
        error: nullable(Type.String({ description: 'why it failed' })),
        receivedAt: MS,
        replayable: Type.Boolean({ description: 'false for a malformed event: replaying it cannot work' }),
      },
      { description: 'a failed callback event: which event and why, never its payload' },
    ),
    { description: 'newest first' },
  ),
});

export const CALLBACK_REPLAY_ANSWER = Type.Object({ replayed: Type.Integer({ description: 'failed events put back to pending' }) });

const CHECK = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
export const READINESS = Type.Object({ ok: Type.Boolean(), checks: Type.Object({ database: CHECK, migrations: CHECK, pulling: CHECK }) });

export const OPENAPI_DOCUMENT = Type.Object(
  { openapi: Type.String(), info: OPEN('title, version, description'), paths: OPEN('every route') },
  { additionalProperties: true, description: 'an OpenAPI 3 document' },
);

/** A file's bytes (media): not JSON. */
export const FILE_BYTES = Type.String({ format: 'binary', description: "the file's bytes, or the requested range of them" });
