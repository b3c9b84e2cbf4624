/** How a conversation is named in lists and headers: a group's name, else its people's names. */
import type { SearchHit } from '../api/reads.ts';
import type { ConversationSummary, PersonRef } from './api.ts';

export const personName = (p: PersonRef) => p.name || p.id;

export function conversationTitle(c: ConversationSummary): string {
  if (c.kind === 'group') return c.name || c.roomid || c.conversation;
  const names = c.participants.map(personName);
  return names.length > 0 ? names.join('、') : c.conversation;
}

/** A search hit's conversation, named the same way from what the hit carries. */
export function hitConversationTitle(h: SearchHit): string {
  if (h.roomid) return h.conversation_name || h.roomid;
  const names = h.conversation_people.map(personName);
  return names.length > 0 ? names.join('、') : h.conversation;
}

/** One or two characters for an avatar: the first of a name (a Chinese name's family name, a word's first letter). */
export function initialsOf(name: string): string {
  return Array.from(name.trim())[0]?.toUpperCase() ?? '?';
}
