/**
 * The command line's check of the msgtypes it is given by name. A msgtype that WeCom does not send
 * and no message of the corp has is most likely mistyped, and `search` refuses it with a sentence
 * rather than answering "0 messages", as it does a mistyped corp (corps/archived-corp.ts), sender
 * (directory/people-lookup.ts) or conversation.
 */
import type { Kysely } from 'kysely';
import { ValidationError } from '../errors/errors.ts';
import { MESSAGE_TYPES } from '../messages/message-types.ts';
import { ARCHIVE_MSGTYPES } from '../messages/normalize-message.ts';
import type { Database } from '../store/schema.ts';

/**
 * The msgtypes a filter may name though the corp has no message of them: WeCom's own, and those the
 * archive gives a message without one. No message of such a type is a true answer: the corp has
 * none archived.
 */
const NAMEABLE_MSGTYPES: ReadonlySet<string> = new Set([...MESSAGE_TYPES, ...Object.values(ARCHIVE_MSGTYPES)]);

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
