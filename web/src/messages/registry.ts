/**
 * Which component shows which msgtype, and the props it takes. A type missing here is shown by
 * UnknownBody (its fields and raw JSON); chatrecord and mixed are expanded by MessageBody itself,
 * since their items are messages again.
 */
import type { Component } from 'vue';
import { bodyOf, type Fields } from './body.ts';
import { CARD_TYPES } from './cards.ts';
import CardBody from './CardBody.vue';
import FileBody from './FileBody.vue';
import ImageBody from './ImageBody.vue';
import MarkdownBody from './MarkdownBody.vue';
import MeetingCallBody from './MeetingCallBody.vue';
import TextBody from './TextBody.vue';
import type { ArchivedMessage, MediaRefs } from './types.ts';
import VideoBody from './VideoBody.vue';
import VoiceBody from './VoiceBody.vue';

export interface BodyEntry {
  component: Component;
  props: Record<string, unknown>;
}

type EntryFor = (message: ArchivedMessage, body: Fields, media: MediaRefs) => BodyEntry;

const BY_TYPE: Readonly<Record<string, EntryFor>> = {
  text: (_m, body) => ({ component: TextBody, props: { body } }),
  markdown: (_m, body) => ({ component: MarkdownBody, props: { body } }),
  image: (_m, body, media) => ({ component: ImageBody, props: { body, media, kind: 'image' } }),
  emotion: (_m, body, media) => ({ component: ImageBody, props: { body, media, kind: 'emotion' } }),
  voice: (_m, body, media) => ({ component: VoiceBody, props: { body, media } }),
  video: (_m, body, media) => ({ component: VideoBody, props: { body, media } }),
  file: (_m, body, media) => ({ component: FileBody, props: { body, media } }),
  voip_doc_share: (_m, body, media) => ({ component: FileBody, props: { body, media, labelKey: 'msg.card.voip_doc_share' } }),
  meeting_voice_call: (_m, body, media) => ({ component: MeetingCallBody, props: { body, media } }),
};

/** The component and props for a message's body, or undefined when the type is not known here. */
export function bodyEntry(message: ArchivedMessage, media: MediaRefs): BodyEntry | undefined {
  const type = typeof message.msgtype === 'string' ? message.msgtype : '';
  const body = bodyOf(message);
  const forType = BY_TYPE[type];
  if (forType) return forType(message, body, media);
  if (CARD_TYPES.has(type)) return { component: CardBody, props: { msgtype: type, body } };
  return undefined;
}

/** Types drawn as a line across the timeline, not a bubble. */
export const SYSTEM_TYPES: ReadonlySet<string> = new Set(['revoke', 'agree', 'disagree', 'switch']);

/** Types whose items are messages of their own. */
export const RECORD_TYPES: ReadonlySet<string> = new Set(['chatrecord', 'mixed']);
