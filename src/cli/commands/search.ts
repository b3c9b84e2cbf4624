import type { Kysely } from 'kysely';
import { EVERYTHING } from '../../access/read-scope.ts';
import { requireArchivedCorp } from '../../corps/archived-corp.ts';
import { senderIdsFor } from '../../directory/people-lookup.ts';
import { ArchiveError, NotFoundError, ValidationError } from '../../errors/errors.ts';
import { visibleConversation } from '../../reading/message-pages.ts';
import { requireMsgtypesOf } from '../../search/filter-names.ts';
import { indexBacklog } from '../../search/index-repository.ts';
import { parseSearchQuery } from '../../search/query.ts';
import { countMatches, type MatchCount, SEARCH_LIMITS, type SearchHit, searchMessages } from '../../search/search-messages.ts';
import { withSenderNames } from '../../search/sender-names.ts';
import { takeSenderTerms } from '../../search/sender-terms.ts';
import type { Snippet } from '../../search/snippet.ts';
import type { Database } from '../../store/schema.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { parseTimeRange, TIME_FORMS } from '../time-option.ts';

function parseLimit(text: string | undefined): number {
  if (text === undefined) return SEARCH_LIMITS.defaultLimit;
  const limit = /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= SEARCH_LIMITS.maxLimit)) {
    throw new ValidationError('SEARCH_LIMIT_INVALID', `--limit ${text} is not a whole number from 1 to ${SEARCH_LIMITS.maxLimit}`);
  }
  return limit;
}

/** Refuses a conversation the corp does not have, saying what a conversation key looks like. */
async function requireConversation(db: Kysely<Database>, corpid: string, conversationKey: string): Promise<void> {
  // the command line is the operator's: every conversation of the corp is visible to it
  await visibleConversation(db, EVERYTHING, corpid, conversationKey).catch((err: unknown) => {
    if (!(err instanceof ArchiveError) || err.code !== 'CONVERSATION_NOT_FOUND') throw err;
    throw new NotFoundError(
      'CONVERSATION_NOT_FOUND',
      `${corpid} has no conversation "${conversationKey}": a conversation is room:ROOMID for a group, or pair:ID1|ID2 for two people, the smaller id first (as the conversation column of a hit shows it)`,
    );
  });
}

/** The snippet with its matched stretches between 【 and 】, for a terminal. */
function marked(snippet: Snippet | undefined): string {
  if (!snippet) return '';
  let out = '';
  let at = 0;
  for (const [start, end] of snippet.ranges) {
    out += `${snippet.text.slice(at, start)}【${snippet.text.slice(start, end)}】`;
    at = end;
  }
  return out + snippet.text.slice(at);
}

function jsonLine(hit: SearchHit, next: string | undefined): string {
  const { snippet } = hit;
  return JSON.stringify({
    msgid: hit.msgid,
    seq: hit.seq,
    msgtime: hit.msgtime,
    from: hit.from,
    from_name: hit.fromName ?? null,
    conversation: hit.conversation,
    msgtype: hit.msgtype,
    snippet: snippet ? { text: snippet.text, ranges: snippet.ranges } : null,
    next: next ?? null,
  });
}

/** A person for a reader: `张三 (zhangsan)`, or the id alone when the directory has no name. */
const person = (id: string, name: string | null | undefined): string => (name ? `${name} (${id})` : id);

function tableLine(hit: SearchHit): string {
  return [new Date(hit.msgtime).toISOString().replace('.000Z', 'Z'), person(hit.from, hit.fromName), hit.conversation, hit.msgtype, marked(hit.snippet)].join('  ');
}

/**
 * The table's last line, for a person: how many hits the page shows, of how many in all (grouped
 * by thousands, as `--count` does not: a script reads that one), and the next page's option.
 */
export function pageSummary(shown: number, count: MatchCount | undefined, next: string | undefined): string {
  const total = count === undefined || shown === 0 ? '' : ` of ${count.atLeast ? 'at least ' : ''}${count.count.toLocaleString('en-US')} in all`;
  return `${shown} message${shown === 1 ? '' : 's'}${total}${next === undefined ? '' : `; next page: --after ${next}`}`;
}

function notIndexedNote(n: number): string {
  return `${n} stored messages are not indexed yet and were not searched`;
}

export const search: Command = {
  name: 'search',
  usage: 'search --corp ID [--conversation KEY] [--from ID|NAME] [--type MSGTYPE[,…]] [--since T] [--until T] [--limit N] [--after CURSOR] [--count] [--json] QUERY...',
  summary: `find a corp's messages, newest first: terms are ANDed, "a phrase" is kept together, -term excludes, word* is a prefix; --from X (or from:X in the query) takes an id, a name, its pinyin or initials (several matches: messages from any of them); T is ${TIME_FORMS}; --limit up to ${SEARCH_LIMITS.maxLimit}`,
  options: {
    corp: { type: 'string' },
    conversation: { type: 'string' },
    from: { type: 'string' },
    type: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    limit: { type: 'string' },
    after: { type: 'string' },
    count: { type: 'boolean' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
  async run({ app, values, positionals, io }) {
    const corpid = requireString(values, 'corp', 'the corp ID to search');
    const { since, until } = parseTimeRange(optionalString(values, 'since'), optionalString(values, 'until'));
    const types = optionalString(values, 'type');
    const { db, dialect } = needApp(app).store;
    await requireArchivedCorp(db, corpid);
    const { rest, senders } = takeSenderTerms(positionals.join(' '));
    const from = optionalString(values, 'from');
    const fromIds = new Set<string>();
    for (const text of from === undefined ? senders : [from, ...senders]) {
      // the command line is the archive's operator: it sees every corp's directory
      const choice = await senderIdsFor(db, EVERYTHING, corpid, text);
      for (const id of choice.ids) fromIds.add(id);
      io.err(choice.people.length === 0 ? `from: ${text} (an id the directory does not know)` : `from: ${choice.people.map((p) => person(p.id, p.name)).join(', ')}`);
    }
    const filters = {
      corpid,
      conversationKey: optionalString(values, 'conversation'),
      fromIds: fromIds.size === 0 ? undefined : [...fromIds],
      msgtypes: types === undefined ? undefined : types.split(',').map((t) => t.trim()),
      since,
      until,
    };
    const query = parseSearchQuery(rest, filters);
    // a mistyped conversation or msgtype is named, not answered with nothing found
    if (filters.conversationKey !== undefined) await requireConversation(db, corpid, filters.conversationKey);
    if (filters.msgtypes !== undefined) await requireMsgtypesOf(db, corpid, filters.msgtypes);
    const limit = parseLimit(optionalString(values, 'limit'));
    if (values.count === true) {
      const { count, atLeast } = await countMatches(db, dialect, EVERYTHING, query);
      io.out(atLeast ? `at least ${count}` : String(count));
      // a count is an answer too: it says when the index is behind, as a page does
      const notIndexed = (await indexBacklog(db, corpid)).reduce((sum, b) => sum + b.pending, 0);
      if (notIndexed > 0) io.err(notIndexedNote(notIndexed));
      return;
    }
    const after = optionalString(values, 'after');
    // the table's first page says how many match in all, counted with it as the web UI counts
    const counted = values.json !== true && after === undefined;
    const page = await searchMessages(db, dialect, EVERYTHING, query, {
      limit,
      ...(after === undefined ? {} : { after }),
      ...(counted ? { count: SEARCH_LIMITS.defaultCountCap } : {}),
    });
    for (const hit of await withSenderNames(db, page.hits)) io.out(values.json === true ? jsonLine(hit, page.next) : tableLine(hit));
    if (page.notIndexed > 0) io.err(notIndexedNote(page.notIndexed));
    if (values.json !== true) io.err(pageSummary(page.hits.length, page.count, page.next));
  },
};
