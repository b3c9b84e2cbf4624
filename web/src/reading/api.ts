/**
 * The read routes the conversation pages use (src/api/read-routes.ts), typed as the API answers
 * them. Reads of a conversation's content go through withReason, so a required access reason is
 * asked for once per open conversation.
 */
import { apiGet, query, segment } from '../api/client.ts';
import { withReason } from '../api/reason.ts';

export interface PersonRef {
  id: string;
  name: string | null;
  kind: 'member' | 'customer' | 'robot' | 'unknown';
}

export interface CorpSummary {
  corpid: string;
  state: string;
  newestMsgtime: number | null;
}

export type ConversationKind = 'single' | 'external' | 'group';

export interface ConversationSummary {
  conversation: string;
  kind: ConversationKind;
  roomid: string | null;
  name: string | null;
  participants: PersonRef[];
  participantCount: number;
  /** absent from an API that predates it */
  consent?: Array<{ id: string; status: 'agree' | 'disagree' }>;
  messageCount: number;
  firstMsgtime: number;
  last: { msgid: string; msgtime: number; msgtype: string; from: PersonRef; preview: string | null };
}

export interface MediaView {
  slot: number;
  path: string;
  kind: string;
  state: string;
  sha256: string | null;
  size: number | null;
  fileName: string | null;
  contentType: string | null;
  mp3: boolean;
  error: string | null;
}

export interface MessageView {
  msgid: string;
  seq: string;
  msgtime: number;
  msgtype: string;
  action: string;
  conversation: string;
  from: PersonRef;
  content: Record<string, unknown> | null;
  preview: string | null;
  media: MediaView[];
  revokes: string | null;
  revokedBy: string | null;
  quote: { user: string; quote: string; content: string; target: { msgid: string; preview: string } | null } | null;
  knownType: boolean;
  isExternal: boolean;
}

export interface MessagePage {
  conversation: string;
  messages: MessageView[];
  before: string | null;
  after: string | null;
}

export interface Person {
  id: string;
  name: string | null;
  kind: string;
}

export type PeopleKind = 'members' | 'customers' | 'groups';

const corpPath = (corpid: string) => `/api/corps/${segment(corpid)}`;
const conversationPath = (corpid: string, conversation: string) => `${corpPath(corpid)}/conversations/${segment(conversation)}`;

/** The subject a conversation's access reason is kept under. */
export const conversationSubject = (corpid: string, conversation: string) => `conversation:${corpid}/${conversation}`;

export function listCorps(signal?: AbortSignal): Promise<{ corps: CorpSummary[] }> {
  return apiGet('/api/corps', { signal });
}

export interface ConversationFilters {
  kind?: ConversationKind;
  member?: string;
  customer?: string;
  q?: string;
  before?: string;
}

export function listConversations(corpid: string, filters: ConversationFilters, signal?: AbortSignal): Promise<{ conversations: ConversationSummary[]; next: string | null }> {
  return apiGet(`${corpPath(corpid)}/conversations${query({ ...filters, limit: 50 })}`, { signal });
}

export function findPeople(corpid: string, kind: PeopleKind, q: string, signal?: AbortSignal, limit = 50): Promise<{ people: Person[]; next: string | null }> {
  return apiGet(`${corpPath(corpid)}/${kind}${query({ q, limit })}`, { signal });
}

/** Where a page of messages is taken from: the newest, either side of a cursor, around a message, or at a time. */
export type PageAnchor = { before: string } | { after: string } | { around: string } | { at: number } | Record<string, never>;

export const PAGE_SIZE = 60;

export function messagePage(corpid: string, conversation: string, anchor: PageAnchor, signal?: AbortSignal): Promise<MessagePage> {
  const path = `${conversationPath(corpid, conversation)}/messages${query({ ...anchor, limit: PAGE_SIZE })}`;
  return withReason(conversationSubject(corpid, conversation), (headers) => apiGet<MessagePage>(path, { signal, headers }));
}

export function conversationDays(corpid: string, conversation: string, month: string, signal?: AbortSignal): Promise<{ month: string; utcOffsetMinutes: number; days: string[] }> {
  const path = `${conversationPath(corpid, conversation)}/days${query({ month })}`;
  return withReason(conversationSubject(corpid, conversation), (headers) => apiGet(path, { signal, headers }));
}

/** The address of a stored file (same origin; the API picks a safe content type). */
export function mediaUrl(corpid: string, sha256: string, variant?: 'thumb' | 'mp3'): string {
  return `${corpPath(corpid)}/media/${segment(sha256)}${query({ variant })}`;
}
