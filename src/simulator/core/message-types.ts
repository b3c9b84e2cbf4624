import { MESSAGE_TYPES, type MessageType } from '../../messages/message-types.ts';

/**
 * Every message type of WeCom's official message format reference (the list the archive knows), with how often
 * the generator produces each and who may send it. `switch` is the action of the special
 * `{"msgid","action":"switch","time","user"}` record; `revoke` messages carry action `recall`.
 */
export const messageTypes = MESSAGE_TYPES;
export type { MessageType };

/**
 * Which conversation a type needs:
 * any — group or 1:1; internal — no external contact present; with-external — an external contact
 * present; from-external — 1:1, sent by the external contact (agree/disagree); to-external — 1:1,
 * member to external; robot — a group with a robot, sent by the robot; direct — any 1:1;
 * none — not a chat message (switch).
 */
export type ConversationNeed = 'any' | 'internal' | 'with-external' | 'from-external' | 'to-external' | 'robot' | 'direct' | 'none';

interface TypeRule {
  readonly weight: number;
  readonly need: ConversationNeed;
}

export const TYPE_RULES: Readonly<Record<MessageType, TypeRule>> = {
  text: { weight: 420, need: 'any' },
  image: { weight: 90, need: 'any' },
  revoke: { weight: 25, need: 'any' },
  agree: { weight: 10, need: 'from-external' },
  disagree: { weight: 4, need: 'from-external' },
  voice: { weight: 40, need: 'any' },
  video: { weight: 15, need: 'any' },
  card: { weight: 10, need: 'any' },
  location: { weight: 10, need: 'any' },
  emotion: { weight: 30, need: 'any' },
  file: { weight: 30, need: 'any' },
  link: { weight: 20, need: 'any' },
  weapp: { weight: 8, need: 'any' },
  chatrecord: { weight: 10, need: 'any' },
  todo: { weight: 5, need: 'any' },
  vote: { weight: 5, need: 'any' },
  collect: { weight: 4, need: 'any' },
  redpacket: { weight: 8, need: 'internal' },
  meeting: { weight: 5, need: 'any' },
  meeting_notification: { weight: 4, need: 'any' },
  switch: { weight: 8, need: 'none' },
  docmsg: { weight: 10, need: 'any' },
  markdown: { weight: 8, need: 'robot' },
  news: { weight: 4, need: 'robot' },
  calendar: { weight: 5, need: 'any' },
  mixed: { weight: 20, need: 'any' },
  meeting_voice_call: { weight: 3, need: 'direct' },
  voip_doc_share: { weight: 3, need: 'direct' },
  external_redpacket: { weight: 5, need: 'with-external' },
  sphfeed: { weight: 5, need: 'to-external' },
  voiptext: { weight: 10, need: 'direct' },
  qydiskfile: { weight: 3, need: 'to-external' },
};

export const TYPE_WEIGHTS: readonly number[] = messageTypes.map((t) => TYPE_RULES[t].weight);
export const TYPE_WEIGHT_TOTAL = TYPE_WEIGHTS.reduce((a, b) => a + b, 0);

/**
 * Every SHOWCASE_EVERY-th message cycles through all types in order, so any run of
 * SHOWCASE_EVERY × messageTypes.length (= 1,280) messages contains every type whatever the seed.
 */
export const SHOWCASE_EVERY = 40;
export const SHOWCASE_OFFSET = 17;

/** Types a revoke may point at: real chat messages, not records about other messages. */
export function isRevocable(type: MessageType): boolean {
  return type !== 'revoke' && type !== 'switch' && type !== 'agree' && type !== 'disagree' && type !== 'meeting_notification';
}
