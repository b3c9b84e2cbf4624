/**
 * The read routes the search, gallery, people and operations pages use, typed as the API answers
 * them (src/api/read-routes.ts, src/api/status-routes.ts). Every read of archived content goes
 * through withReason, so a corp that requires an access reason asks for one.
 */
import { apiGet, query, type RequestOptions, segment } from './client.ts';
import { conversationSubject, type ConversationSummary, type MediaView, type PersonRef } from '../reading/api.ts';
import { withReason } from './reason.ts';

export type { ConversationSummary, MediaView, PersonRef };

/** A corp as `/api/corps` gives it (the reading pages' CorpSummary, with the status figures). */
export interface CorpSummary {
  corpid: string;
  state: string;
  newestMsgtime: number | null;
  lagMs: number | null;
  hoursLeft: number | null;
  notIndexed: number;
}

export interface SearchHit {
  corpid: string;
  msgid: string;
  seq: string;
  msgtime: number;
  from: string;
  from_name: string | null;
  conversation: string;
  /** a group's name from the directory */
  conversation_name: string | null;
  /** the two people of a 1:1 chat (none for a group) */
  conversation_people: PersonRef[];
  roomid: string;
  msgtype: string;
  snippet?: { field: number; text: string; ranges: Array<[number, number]> };
}

export interface SearchPage {
  hits: SearchHit[];
  next: string | null;
  notIndexed: number;
  /** how many match in all, when asked for (`count`); `atLeast`: counting stopped short, there are at least `n` */
  count?: { n: number; atLeast: boolean };
}

export interface SearchParams {
  q: string;
  corp?: string;
  conversation?: string;
  from?: string;
  type?: string;
  since?: number;
  until?: number;
  after?: string;
  /** 'true': the answer says how many match in all (asked with the first page) */
  count?: 'true';
}

export type GalleryKind = 'visual' | 'file' | 'link' | 'voice';

export interface GalleryItem {
  msgid: string;
  seq: string;
  msgtime: number;
  msgtype: string;
  from: PersonRef;
  media: MediaView | null;
  link: { title: string | null; description: string | null; url: string | null } | null;
}

export interface GalleryPage {
  conversation: string;
  kind: GalleryKind;
  items: GalleryItem[];
  next: string | null;
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  next: string | null;
}

export interface CustomerProfile {
  id: string;
  name: string | null;
  type: number | null;
  corpName: string | null;
  position: string | null;
  consent: Array<{ scope: string; scopeId: string; scopeName: string | null; status: string; changedAt: number | null }>;
}

export interface MemberProfile {
  id: string;
  name: string | null;
  position: string | null;
  departments: number[];
  status: number | null;
}

export interface AuditRow {
  id: number;
  at: number;
  username: string;
  role: string | null;
  action: string;
  corpid: string | null;
  conversation: string | null;
  query: string | null;
  items: number | null;
  reason: string | null;
  ip: string | null;
}

export interface AuditParams {
  user?: string;
  action?: string;
  since?: number;
  after?: number;
}

/** What `/api/status` tells of one corp (src/status/corp-status.ts); the parts the operations page shows. */
export interface CorpStatus {
  corpid: string;
  state: string;
  cursorSeq: string;
  lastError: string | null;
  messages: number;
  pending: number;
  waiting: Array<{ reason: string; code: number | null; count: number; label: string }>;
  gaps: { count: number };
  lagMs: number | null;
  hoursLeft: number | null;
  newestMsgtime: number | null;
  notIndexed: number;
  sdkHostRestarts: { count: number; latest: { cause: string; at: number } | null };
  media: { states: Record<string, number>; bytes: number; latestFailures: Array<{ msgid: string; kind: string; state: string; error: string | null }> };
  callbacks: { pending: number; failed: number; ignored: number; done: number; lastReceivedAt: number | null };
}

/**
 * A read of archived content: asks for an access reason when the API wants one. The reason is kept
 * under `subject` (reason.ts): the search page's own, or the conversation's, which the timeline shares.
 */
function read<T>(path: string, subject: string, options: RequestOptions = {}): Promise<T> {
  return withReason(subject, (headers) => apiGet<T>(path, { ...options, headers: { ...options.headers, ...headers } }));
}

export const corpBase = (corpid: string) => `/api/corps/${segment(corpid)}`;

export function listCorps(options?: RequestOptions): Promise<{ corps: CorpSummary[] }> {
  return apiGet('/api/corps', options);
}

export function searchMessages(params: SearchParams, options?: RequestOptions): Promise<SearchPage> {
  return read(`/api/search${query({ ...params })}`, 'search', options);
}

export function galleryPage(corpid: string, conversation: string, kind: GalleryKind, before: string | undefined, options?: RequestOptions): Promise<GalleryPage> {
  return read(`${corpBase(corpid)}/conversations/${segment(conversation)}/media${query({ kind, before, limit: 60 })}`, conversationSubject(corpid, conversation), options);
}

export function conversationsWith(corpid: string, who: { member?: string; customer?: string }, before: string | undefined, options?: RequestOptions): Promise<ConversationPage> {
  return read(`${corpBase(corpid)}/conversations${query({ ...who, before })}`, 'directory', options);
}

export function customerProfile(corpid: string, id: string, options?: RequestOptions): Promise<{ customer: CustomerProfile }> {
  return read(`${corpBase(corpid)}/customers/${segment(id)}`, 'directory', options);
}

export function memberProfile(corpid: string, id: string, options?: RequestOptions): Promise<{ member: MemberProfile }> {
  return read(`${corpBase(corpid)}/members/${segment(id)}`, 'directory', options);
}

export function corpStatuses(options?: RequestOptions): Promise<{ corps: CorpStatus[] }> {
  return apiGet('/api/status', options);
}

export function auditRows(params: AuditParams, options?: RequestOptions): Promise<{ rows: AuditRow[]; next: number | null }> {
  return read(`/api/audit${query({ ...params, limit: 50 })}`, 'audit', options);
}

/** A stored file's URL (a thumbnail, or a voice's MP3 copy, by variant). */
export function mediaUrl(corpid: string, sha256: string, variant?: 'thumb' | 'mp3'): string {
  return `${corpBase(corpid)}/media/${segment(sha256)}${query({ variant })}`;
}

/** The timeline's permalink of a message: `/c/:corpid/:conversation?msg=MSGID`, its ids as path segments. */
export function permalink(corpid: string, conversation: string, msgid?: string): string {
  return `/c/${segment(corpid)}/${segment(conversation)}${query({ msg: msgid })}`;
}

/**
 * The customer or member view of an id, by WeCom's id prefixes (wm/wo: an external contact; wb: a
 * robot, which has no view); undefined when there is none.
 */
export function personLink(corpid: string, id: string): string | undefined {
  if (!id || id.startsWith('wb')) return undefined;
  const kind = id.startsWith('wm') || id.startsWith('wo') ? 'customers' : 'members';
  return `/${kind}/${segment(corpid)}/${segment(id)}`;
}
