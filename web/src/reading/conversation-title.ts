/** How a conversation is named in lists and headers: a group's name, else its people's names. */
import type { ConversationSummary, PersonRef } from './api.ts';

export const personName = (p: PersonRef) => p.name || p.id;

export function conversationTitle(c: ConversationSummary): string {
  if (c.kind === 'group') return c.name || c.roomid || c.conversation;
  const names = c.participants.map(personName);
  return names.length > 0 ? names.join('、') : c.conversation;
}

/** One or two characters for an avatar: the first of a name (a Chinese name's family name, a word's first letter). */
export function initialsOf(name: string): string {
  return Array.from(name.trim())[0]?.toUpperCase() ?? '?';
}
