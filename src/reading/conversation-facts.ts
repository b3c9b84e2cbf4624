/**
 * What a conversation is and who takes part in it, from the normalized columns of its messages. Pure
 * functions: the decrypt commit and the backfill of migration 0013 derive the summary rows with the
 * same rules, so an archive migrated from older messages reads exactly like one ingested afterwards.
 */
import { personKind } from '../directory/id-kinds.ts';
import type { ConversationKind } from '../store/vocabulary.ts';

/** The id column size of conversation_participants (as messages.from_id). */
const ID_MAX = 191;

/**
 * A group when the key names a room; a 1:1 chat is 'external' when either side is an external contact
 * (a customer), else 'single'. The kind follows from the key alone, so it never changes as messages arrive.
 */
export function conversationKindOf(conversationKey: string): ConversationKind {
  if (conversationKey.startsWith('room:')) return 'group';
  const pair = conversationKey.startsWith('pair:') ? conversationKey.slice('pair:'.length).split('|') : [];
  return pair.some((id) => id !== '' && personKind(id) === 'external') ? 'external' : 'single';
}

/** The ids a message names as sender and receivers (`tolist` is the stored JSON array), without blanks or repeats. */
export function participantsOf(fromId: string, tolistJson: string): string[] {
  const ids = new Set<string>();
  if (fromId) ids.add(fromId);
  let tolist: unknown;
  try {
    tolist = JSON.parse(tolistJson);
  } catch {
    tolist = [];
  }
  if (Array.isArray(tolist)) for (const id of tolist) if (typeof id === 'string' && id !== '' && id.length <= ID_MAX) ids.add(id);
  return [...ids];
}
