/**
 * The command line's checks of the filters it is given by name. A conversation or a msgtype that
 * no message of the corp has is most likely mistyped, and `search` refuses it with a sentence
 * rather than answering "0 messages", as it does a mistyped corp (corps/archived-corp.ts) or
 * sender (directory/people-lookup.ts). The command line is the operator's, who may read every
 * conversation; the API does not ask, since there a conversation a reader may not see must look
 * like one that does not exist.
 */
import type { Kysely } from 'kysely';
import { ValidationError } from '../errors/errors.ts';
import { MESSAGE_TYPES } from '../messages/message-types.ts';
import type { Database } from '../store/schema.ts';

/**
 * The msgtypes a filter may name though the corp has no message of them: WeCom's own, and the two
 * the archive gives a message without one (normalize-message.ts). No message of such a type is a
 * true answer: the corp has none archived.
 */
const NAMEABLE_MSGTYPES: ReadonlySet<string> = new Set([...MESSAGE_TYPES, 'recall', 'unknown']);

/** Refuses a conversation that no message of the corp is in (SEARCH_CONVERSATION_UNKNOWN). */
export async function requireConversationOf(db: Kysely<Database>, corpid: string, conversationKey: string): Promise<void> {
  const held = await db.selectFrom('messages').select('msgid').where('corpid', '=', corpid).where('conversation_key', '=', conversationKey).limit(1).executeTakeFirst();
  if (held) return;
  throw new ValidationError(
    'SEARCH_CONVERSATION_UNKNOWN',
    `no message of ${corpid} is in the conversation "${conversationKey}": a conversation is room:ROOMID for a group, or pair:ID1|ID2 for two people, the smaller id first (as the conversation column of a hit shows it)`,
  );
}

/** Refuses a msgtype that WeCom does not send and no message of the corp has (SEARCH_TYPE_UNKNOWN). */
export async function requireMsgtypesOf(db: Kysely<Database>, corpid: string, msgtypes: readonly string[]): Promise<void> {
  const other = [...new Set(msgtypes.filter((t) => !NAMEABLE_MSGTYPES.has(t)))];
  if (other.length === 0) return;
  const rows = await db.selectFrom('messages').select('msgtype').distinct().where('corpid', '=', corpid).where('msgtype', 'in', other).execute();
  const held = new Set(rows.map((r) => r.msgtype));
  const unknown = other.filter((t) => !held.has(t));
  if (unknown.length === 0) return;
  throw new ValidationError(
    'SEARCH_TYPE_UNKNOWN',
    `${unknown.map((t) => `"${t}"`).join(', ')}: no message of ${corpid} has ${unknown.length === 1 ? 'that msgtype' : 'those msgtypes'}, and WeCom sends none (it sends ${MESSAGE_TYPES.join(', ')})`,
  );
}
