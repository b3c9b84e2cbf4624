/**
 * What a reader calls a conversation where a page shows only its key (search hits): a group's name
 * from the directory, and the two people of a 1:1 chat with their names. Whoever reads a message of
 * the conversation may see these; one lookup per corp on the page, never one per hit.
 */
import type { Kysely } from 'kysely';
import { groupBy } from '../runtime/group-by.ts';
import type { Database } from '../store/schema.ts';
import { groupNames, type PersonRef, personNames, personRef } from './directory-names.ts';

export interface ConversationName {
  /** a group's name, null for a 1:1 chat or a group the directory has no name for */
  name: string | null;
  /** the two people of a 1:1 chat (none for a group) */
  people: PersonRef[];
}

/** A conversation as a page names it. */
interface ConversationRef {
  readonly corpid: string;
  readonly conversation: string;
  readonly roomid: string;
}

const keyOf = (corpid: string, conversation: string) => `${corpid}\u0000${conversation}`;

/** The people a 1:1 chat's key names (`pair:a|b`); none for a group. */
function pairOf(conversation: string): string[] {
  return conversation.startsWith('pair:') ? conversation.slice('pair:'.length).split('|').filter(Boolean) : [];
}

/** The name of each conversation of `refs`, by corp and key (`nameOf` reads it). */
export async function conversationNames(db: Kysely<Database>, refs: readonly ConversationRef[]): Promise<(corpid: string, conversation: string) => ConversationName> {
  const named = new Map<string, ConversationName>();
  for (const [corpid, list] of groupBy(refs, (r) => r.corpid)) {
    const groups = await groupNames(
      db,
      corpid,
      list.map((r) => r.roomid),
    );
    const people = await personNames(
      db,
      corpid,
      list.flatMap((r) => pairOf(r.conversation)),
    );
    for (const r of list) {
      named.set(keyOf(corpid, r.conversation), {
        name: r.roomid === '' ? null : (groups.get(r.roomid) ?? null),
        people: pairOf(r.conversation).map((id) => personRef(id, people)),
      });
    }
  }
  return (corpid, conversation) => named.get(keyOf(corpid, conversation)) ?? { name: null, people: [] };
}
