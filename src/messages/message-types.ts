/**
 * Every msgtype that WeCom's official message-format page or the type lists of the common SDK
 * wrappers name, in the order the simulator's generator cycles through them. A message of another
 * type is still stored whole; it is only counted as unknown.
 */
export const MESSAGE_TYPES = [
  'text',
  'image',
  'revoke',
  'agree',
  'disagree',
  'voice',
  'video',
  'card',
  'location',
  'emotion',
  'file',
  'link',
  'weapp',
  'chatrecord',
  'todo',
  'vote',
  'collect',
  'redpacket',
  'meeting',
  'meeting_notification',
  'switch',
  'docmsg',
  'markdown',
  'news',
  'calendar',
  'mixed',
  'meeting_voice_call',
  'voip_doc_share',
  'external_redpacket',
  'sphfeed',
  'voiptext',
  'qydiskfile',
] as const;

export type MessageType = (typeof MESSAGE_TYPES)[number];

/** The msgtypes above as a set. A message of another type is still stored whole; it is only counted as unknown. */
export const KNOWN_MSGTYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);
