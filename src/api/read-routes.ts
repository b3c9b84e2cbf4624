/**
 * The read routes: corps, conversations, message pages, days, one message with its context, the
 * directory, search and the audit log. Each passes the caller's ReadScope to a read function that
 * applies it in its own SQL, so a route cannot widen what a caller sees; a conversation or message
 * out of scope answers the same 404 as a missing one.
 *
 * Every answer that carries archived content, directory data, search results or audit rows first
 * writes one audit row (who, what, which corp and conversation or query, how many items) and only
 * then answers: when the audit log refuses the row, the request fails and nothing is returned.
 */
import type { FastifyRequest } from 'fastify';
import { type TSchema, Type } from '@fastify/type-provider-typebox';
import type { AuditEntry, AuditTrail, Caller } from '../access/caller.ts';
import { auditPage } from '../access/audit-log.ts';
import { peopleMatching, type PeopleKind, senderIdsFor } from '../directory/people-lookup.ts';
import { ArchiveError, ValidationError } from '../errors/errors.ts';
import { listConversations } from '../reading/conversation-list.ts';
import { conversationGallery, GALLERY_KINDS } from '../reading/conversation-gallery.ts';
import { conversationDays, conversationMessages, messageById, messageContext } from '../reading/message-pages.ts';
import { customerProfile, memberProfile } from '../reading/person-profile.ts';
import { MAX_LIMIT } from '../reading/read-params.ts';
import { parseSearchQuery } from '../search/query.ts';
import { SEARCH_LIMITS, searchMessages } from '../search/search-messages.ts';
import { conversationNames } from '../reading/conversation-names.ts';
import { withSenderNames } from '../search/sender-names.ts';
import { takeSenderTerms } from '../search/sender-terms.ts';
import { corpSummaries } from '../status/corp-status.ts';
import type { Store } from '../store/open-store.ts';
import { CONVERSATION_KINDS } from '../store/vocabulary.ts';
import type { ApiInstance } from './api-types.ts';
import { AUDIT_PAGE, CONVERSATION_PAGE, CORPS_ANSWER, DAYS_ANSWER, errorAnswers, MESSAGE_ANSWER, MESSAGE_PAGE, PEOPLE_PAGE, SEARCH_PAGE } from './answer-schemas.ts';
import { userAgent } from './session-routes.ts';

/** Text parameters: bounded, and without control characters (they reach SQL and the audit log). */
const text = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[^\\u0000-\\u001f\\u007f]*$' });
/** A corp id as `corp add` takes it (corps/corp-settings.ts): `..` or a slash is no corp, and a 400. */
const CORPID = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' });
const CURSOR = Type.String({ minLength: 1, maxLength: 2000, pattern: '^[A-Za-z0-9_-]+$' });
const LIMIT = Type.Integer({ minimum: 1, maximum: MAX_LIMIT });
const TIME = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 });
/** What a route that opens a conversation's content may answer besides its content (428: require_reason). */
const CONTENT_ERRORS = errorAnswers(400, 401, 404, 428, 500, 503);

/** A gallery page (src/reading/conversation-gallery.ts), described in full: ids and seq as strings. */
const PERSON = Type.Object({ id: Type.String(), name: Type.Union([Type.String(), Type.Null()]), kind: Type.String() });
const NULLABLE = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const GALLERY_PAGE = Type.Object({
  conversation: Type.String(),
  kind: Type.String(),
  items: Type.Array(
    Type.Object({
      msgid: Type.String(),
      seq: Type.String(),
      msgtime: Type.Number(),
      msgtype: Type.String(),
      from: PERSON,
      media: NULLABLE(
        Type.Object({
          slot: Type.Integer(),
          path: Type.String(),
          kind: Type.String(),
          state: Type.String(),
          sha256: NULLABLE(Type.String()),
          size: NULLABLE(Type.Number()),
          fileName: NULLABLE(Type.String()),
          contentType: NULLABLE(Type.String()),
          mp3: Type.Boolean(),
          error: NULLABLE(Type.String()),
        }),
      ),
      link: NULLABLE(Type.Object({ title: NULLABLE(Type.String()), description: NULLABLE(Type.String()), url: NULLABLE(Type.String()) })),
    }),
  ),
  next: NULLABLE(Type.String()),
});

/** One person's directory entry (src/reading/person-profile.ts). */
const CUSTOMER_ANSWER = Type.Object({
  customer: Type.Object({
    id: Type.String(),
    name: NULLABLE(Type.String()),
    type: NULLABLE(Type.Integer()),
    corpName: NULLABLE(Type.String()),
    position: NULLABLE(Type.String()),
    consent: Type.Array(
      Type.Object({ scope: Type.String(), scopeId: Type.String(), scopeName: NULLABLE(Type.String()), status: Type.String(), changedAt: NULLABLE(Type.Number()) }),
    ),
  }),
});
const MEMBER_ANSWER = Type.Object({
  member: Type.Object({
    id: Type.String(),
    name: NULLABLE(Type.String()),
    position: NULLABLE(Type.String()),
    departments: Type.Array(Type.Integer()),
    status: NULLABLE(Type.Integer()),
  }),
});

const CORP_PARAMS = Type.Object({ corpid: CORPID });
const CONVERSATION_PARAMS = Type.Object({ corpid: CORPID, conversation: text(400) });
const MESSAGE_PARAMS = Type.Object({ corpid: CORPID, msgid: text(191) });
const PEOPLE_QUERY = Type.Object({ q: text(200), after: Type.Optional(CURSOR), limit: Type.Optional(LIMIT) }, { additionalProperties: false });

/**
 * A query string whose percent-escapes are not UTF-8 (`?q=%FF`) is refused: the parser would turn
 * them into U+FFFD or keep them raw, and either way the read would search for text nobody sent.
 */
async function utf8Query(request: FastifyRequest): Promise<void> {
  const raw = request.raw.url ?? '';
  const at = raw.indexOf('?');
  if (at < 0) return;
  try {
    decodeURIComponent(raw.slice(at + 1).replace(/\+/g, ' '));
  } catch {
    throw new ValidationError('READ_PARAMS_INVALID', 'the query string is not valid percent-encoded UTF-8');
  }
}

/** The corps a scope names (whole, or through a department or conversation grant); undefined: every corp. */
function namedCorps(caller: Caller): Set<string> | undefined {
  const scope = caller.scope;
  if (scope.kind === 'everything') return undefined;
  return new Set([...scope.corps, ...scope.departments.map((d) => d.corpid), ...scope.conversations.map((c) => c.corpid)]);
}

/** The query's parameters as the audit row keeps them: cursors left out (opaque, and no filter). */
function filtersOf(query: unknown): Record<string, unknown> | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  const kept = Object.fromEntries(Object.entries(query).filter(([k, v]) => v !== undefined && k !== 'before' && k !== 'after'));
  return Object.keys(kept).length > 0 ? kept : undefined;
}

export function readRoutes(store: Store, audit: AuditTrail | undefined, now: () => number = Date.now) {
  const { db, dialect } = store;

  /** Writes the request's audit row; resolves once it is committed, rejects (and so fails the request) when it cannot be. */
  async function audited(request: FastifyRequest, action: string, fields: { corpid?: string; conversation?: string; items: number }): Promise<void> {
    // without an audit log no content may leave: a read nobody can account for is refused
    if (!audit) throw new ArchiveError('ACCOUNTS_UNAVAILABLE', 'this process has no audit log; reads are refused', { httpStatus: 503 });
    const caller = request.caller!;
    const entry: AuditEntry = {
      userId: caller.userId,
      username: caller.username,
      role: caller.role,
      action,
      corpid: fields.corpid,
      conversation: fields.conversation,
      query: filtersOf(request.query),
      items: fields.items,
      reason: request.accessReason,
      ip: request.ip,
      userAgent: userAgent(request),
      requestId: request.id,
    };
    await audit.record(entry);
  }

  return (api: ApiInstance): void => {
    api.get(
      '/api/corps',
      {
        config: { access: 'signed-in' },
        onRequest: utf8Query,
        schema: { summary: 'The corps the caller may read, each with a status summary', tags: ['read'], response: { 200: CORPS_ANSWER, ...errorAnswers(400, 401, 500, 503) } },
      },
      async (request) => {
        const named = namedCorps(request.caller!);
        const corps = (await corpSummaries(db, now())).filter((s) => named === undefined || named.has(s.corpid));
        await audited(request, 'corps.list', { items: corps.length });
        return { corps };
      },
    );

    api.get(
      '/api/corps/:corpid/conversations',
      {
        config: { access: 'signed-in' },
        onRequest: utf8Query,
        schema: {
          summary: "A page of a corp's conversations, newest activity first",
          tags: ['read'],
          params: CORP_PARAMS,
          querystring: Type.Object(
            {
              kind: Type.Optional(Type.Union(CONVERSATION_KINDS.map((k) => Type.Literal(k)))),
              member: Type.Optional(text(191)),
              customer: Type.Optional(text(191)),
              q: Type.Optional(text(64)),
              before: Type.Optional(CURSOR),
              limit: Type.Optional(LIMIT),
            },
            { additionalProperties: false },
          ),
          response: { 200: CONVERSATION_PAGE, ...errorAnswers(400, 401, 404, 500, 503) },
        },
      },
      async (request) => {
        const { corpid } = request.params;
        const page = await listConversations(db, dialect, request.caller!.scope, corpid, request.query);
        await audited(request, 'conversations.list', { corpid, items: page.conversations.length });
        return page;
      },
    );

    api.get(
      '/api/corps/:corpid/conversations/:conversation/messages',
      {
        config: { access: 'signed-in', needsReason: true },
        onRequest: utf8Query,
        schema: {
          summary: 'A page of a conversation in time order: the newest, or before/after a cursor, or around a message or a time',
          tags: ['read'],
          params: CONVERSATION_PARAMS,
          querystring: Type.Object(
            { before: Type.Optional(CURSOR), after: Type.Optional(CURSOR), around: Type.Optional(text(191)), at: Type.Optional(TIME), limit: Type.Optional(LIMIT) },
            { additionalProperties: false },
          ),
          response: { 200: MESSAGE_PAGE, ...CONTENT_ERRORS },
        },
      },
      async (request) => {
        const { corpid, conversation } = request.params;
        const page = await conversationMessages(db, dialect, request.caller!.scope, corpid, conversation, request.query);
        await audited(request, 'messages.read', { corpid, conversation, items: page.messages.length });
        return page;
      },
    );

    api.get(
      '/api/corps/:corpid/conversations/:conversation/days',
      {
        config: { access: 'signed-in', needsReason: true },
        onRequest: utf8Query,
        schema: {
          summary: 'The days of a month on which a conversation has messages',
          tags: ['read'],
          params: CONVERSATION_PARAMS,
          querystring: Type.Object({ month: Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' }) }, { additionalProperties: false }),
          response: { 200: DAYS_ANSWER, ...CONTENT_ERRORS },
        },
      },
      async (request) => {
        const { corpid, conversation } = request.params;
        const days = await conversationDays(db, dialect, request.caller!.scope, corpid, conversation, request.query.month);
        await audited(request, 'days.read', { corpid, conversation, items: days.days.length });
        return days;
      },
    );

    api.get(
      '/api/corps/:corpid/messages/:msgid',
      {
        config: { access: 'signed-in', needsReason: true },
        onRequest: utf8Query,
        schema: { summary: 'One message, with its raw JSON', tags: ['read'], params: MESSAGE_PARAMS, response: { 200: MESSAGE_ANSWER, ...CONTENT_ERRORS } },
      },
      async (request) => {
        const { corpid, msgid } = request.params;
        const found = await messageById(db, dialect, request.caller!.scope, corpid, msgid);
        await audited(request, 'message.read', { corpid, conversation: found.message.conversation, items: 1 });
        return found;
      },
    );

    api.get(
      '/api/corps/:corpid/messages/:msgid/context',
      {
        config: { access: 'signed-in', needsReason: true },
        onRequest: utf8Query,
        schema: {
          summary: 'A message and up to n messages on each side of it',
          tags: ['read'],
          params: MESSAGE_PARAMS,
          querystring: Type.Object({ n: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })) }, { additionalProperties: false }),
          response: { 200: MESSAGE_PAGE, ...CONTENT_ERRORS },
        },
      },
      async (request) => {
        const { corpid, msgid } = request.params;
        const page = await messageContext(db, dialect, request.caller!.scope, corpid, msgid, request.query.n);
        await audited(request, 'messages.read', { corpid, conversation: page.conversation, items: page.messages.length });
        return page;
      },
    );

    for (const [path, kind] of [
      ['members', 'member'],
      ['customers', 'customer'],
      ['groups', 'group'],
    ] as const satisfies ReadonlyArray<readonly [string, PeopleKind]>) {
      api.get(
        `/api/corps/:corpid/${path}`,
        {
          config: { access: 'signed-in' },
          onRequest: utf8Query,
          schema: {
            summary: `The ${path} of a corp's directory a text finds (id, name, pinyin or initials)`,
            tags: ['read'],
            params: CORP_PARAMS,
            querystring: PEOPLE_QUERY,
            response: { 200: PEOPLE_PAGE, ...errorAnswers(400, 401, 500, 503) },
          },
        },
        async (request) => {
          const { corpid } = request.params;
          const { q, after, limit } = request.query;
          const page = await peopleMatching(db, request.caller!.scope, corpid, q, { kinds: [kind], after, limit });
          await audited(request, 'directory.read', { corpid, items: page.people.length });
          return { people: [...page.people], next: page.next ?? null };
        },
      );
    }

    api.get(
      '/api/corps/:corpid/conversations/:conversation/media',
      {
        config: { access: 'signed-in', needsReason: true },
        onRequest: utf8Query,
        schema: {
          summary: "A page of a conversation's gallery, newest first: images and videos, files, links or voice",
          tags: ['read'],
          params: CONVERSATION_PARAMS,
          querystring: Type.Object(
            { kind: Type.Union(GALLERY_KINDS.map((k) => Type.Literal(k))), before: Type.Optional(CURSOR), limit: Type.Optional(LIMIT) },
            { additionalProperties: false },
          ),
          response: { 200: GALLERY_PAGE, ...CONTENT_ERRORS },
        },
      },
      async (request) => {
        const { corpid, conversation } = request.params;
        const { kind, before, limit } = request.query;
        const page = await conversationGallery(db, dialect, request.caller!.scope, corpid, conversation, kind, { before, limit });
        await audited(request, 'gallery.read', { corpid, conversation, items: page.items.length });
        return page;
      },
    );

    api.get(
      '/api/corps/:corpid/customers/:externalUserid',
      {
        config: { access: 'signed-in' },
        onRequest: utf8Query,
        schema: {
          summary: 'One external contact: its directory entry and consent statuses',
          tags: ['read'],
          params: Type.Object({ corpid: CORPID, externalUserid: text(191) }),
          response: { 200: CUSTOMER_ANSWER, ...errorAnswers(400, 401, 404, 500, 503) },
        },
      },
      async (request) => {
        const { corpid, externalUserid } = request.params;
        const customer = await customerProfile(db, request.caller!.scope, corpid, externalUserid);
        await audited(request, 'directory.read', { corpid, items: 1 });
        return { customer };
      },
    );

    api.get(
      '/api/corps/:corpid/members/:userid',
      {
        config: { access: 'signed-in' },
        onRequest: utf8Query,
        schema: {
          summary: 'One member: its directory entry',
          tags: ['read'],
          params: Type.Object({ corpid: CORPID, userid: text(191) }),
          response: { 200: MEMBER_ANSWER, ...errorAnswers(400, 401, 404, 500, 503) },
        },
      },
      async (request) => {
        const { corpid, userid } = request.params;
        const member = await memberProfile(db, request.caller!.scope, corpid, userid);
        await audited(request, 'directory.read', { corpid, items: 1 });
        return { member };
      },
    );

    api.get(
      '/api/search',
      {
        config: { access: 'signed-in', needsReason: true },
        onRequest: utf8Query,
        schema: {
          summary: 'Messages the caller may read that match a query, newest first',
          tags: ['read'],
          querystring: Type.Object(
            {
              q: text(1000),
              corp: Type.Optional(CORPID),
              conversation: Type.Optional(text(400)),
              from: Type.Optional(text(191)),
              type: Type.Optional(text(32)),
              since: Type.Optional(TIME),
              until: Type.Optional(TIME),
              after: Type.Optional(CURSOR),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SEARCH_LIMITS.maxLimit })),
              count: Type.Optional(Type.Boolean({ description: `also how many messages match in all, up to ${SEARCH_LIMITS.defaultCountCap}: asked with the first page` })),
            },
            { additionalProperties: false },
          ),
          response: { 200: SEARCH_PAGE, ...errorAnswers(400, 401, 428, 500, 503) },
        },
      },
      async (request) => {
        const { q, corp, conversation, from, type, since, until, after, limit, count } = request.query;
        const caller = request.caller!;
        // `from` and `from:X` in the query name senders by id, name, pinyin or initials, looked up
        // among the people the caller may see (senderIdsFor): the lookup is one corp's directory
        const { rest, senders } = takeSenderTerms(q);
        const texts = from === undefined ? senders : [from, ...senders];
        if (texts.length > 0 && corp === undefined) throw new ValidationError('SEARCH_FILTERS_INVALID', 'a sender (from) is looked up in one corp: give corp too');
        const fromIds = new Set<string>();
        const named: Array<{ id: string; name: string | null }> = [];
        for (const text of texts) {
          const choice = await senderIdsFor(db, caller.scope, corp!, text);
          for (const id of choice.ids) fromIds.add(id);
          if (choice.people.length === 0) named.push({ id: text, name: null });
          for (const person of choice.people) named.push({ id: person.id, name: person.name });
        }
        const query = parseSearchQuery(rest, {
          corpid: corp,
          conversationKey: conversation,
          fromIds: fromIds.size === 0 ? undefined : [...fromIds],
          msgtypes: type === undefined ? undefined : [type],
          since,
          until,
        });
        const page = await searchMessages(db, dialect, caller.scope, query, { limit, after, ...(count === true ? { count: SEARCH_LIMITS.defaultCountCap } : {}) });
        const hits = await withSenderNames(db, page.hits);
        const nameOf = await conversationNames(db, hits);
        await audited(request, 'search', { corpid: corp, conversation, items: hits.length });
        return {
          hits: hits.map(({ fromName, snippet, ...hit }) => ({
            ...hit,
            from_name: fromName ?? null,
            conversation_name: nameOf(hit.corpid, hit.conversation).name,
            conversation_people: nameOf(hit.corpid, hit.conversation).people,
            snippet: snippet && { field: snippet.field, text: snippet.text, ranges: snippet.ranges.map(([start, end]): [number, number] => [start, end]) },
          })),
          next: page.next ?? null,
          notIndexed: page.notIndexed,
          ...(page.count === undefined ? {} : { count: { n: page.count.count, atLeast: page.count.atLeast } }),
          senders: named,
        };
      },
    );

    api.get(
      '/api/audit',
      {
        config: { access: ['admin', 'auditor'] },
        onRequest: utf8Query,
        schema: {
          summary: 'A page of the audit log, oldest first (an auditor reads the rows of its corps)',
          tags: ['read'],
          querystring: Type.Object(
            {
              user: Type.Optional(text(191)),
              action: Type.Optional(text(64)),
              since: Type.Optional(TIME),
              after: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
              limit: Type.Optional(LIMIT),
            },
            { additionalProperties: false },
          ),
          response: { 200: AUDIT_PAGE, ...errorAnswers(400, 401, 403, 500, 503) },
        },
      },
      async (request) => {
        const caller = request.caller!;
        const { user, action, since, after, limit } = request.query;
        const corpids = caller.role === 'admin' ? undefined : caller.scope.kind === 'everything' ? undefined : caller.scope.corps;
        const page = await auditPage(db, { user, action, since, after, corpids, limit: limit ?? 50 });
        await audited(request, 'audit.read', { items: page.rows.length });
        return { rows: [...page.rows], next: page.next ?? null };
      },
    );
  };
}
