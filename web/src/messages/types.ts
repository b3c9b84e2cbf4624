/**
 * What the message view needs to show one archived message. Kept small on purpose: the HTTP API
 * is adapted to feed these shapes, so the components never learn the store's rows.
 */

/** One archived message as decrypted: the common fields plus the type's body under its own key. */
export interface ArchivedMessage {
  msgid: string;
  /** send | recall | switch */
  action?: string;
  from?: string;
  tolist?: string[];
  roomid?: string;
  /** UTC milliseconds (a `switch` record carries `time` instead) */
  msgtime?: number;
  time?: number;
  msgtype?: string;
  /** the type's body, e.g. `text: {content}`; unknown keys are kept for the raw view */
  [key: string]: unknown;
}

/** Where an attachment is in the media pipeline. Only `done` and `unverified` have bytes to show. */
export type MediaState = 'pending' | 'downloading' | 'done' | 'unverified' | 'failed' | 'expired';

/** One attachment as the API describes it, keyed by the sdkfileid the message names. */
export interface MediaRef {
  state: MediaState;
  /** same-origin URL of the bytes (served with a safe content type) */
  url?: string;
  contentType?: string;
  size?: number;
  /** the name the browser saves the file under */
  fileName?: string;
  /** the voice converted to MP3, for voice and meeting_voice_call */
  mp3Url?: string;
  /** a small preview of an image or video */
  thumbUrl?: string;
  /** why a failed or expired download did not succeed, in words for a person */
  reason?: string;
}

export type MediaRefs = Readonly<Record<string, MediaRef>>;

export type SenderKind = 'member' | 'external' | 'robot' | 'unknown';

export interface Sender {
  id: string;
  name: string;
  kind: SenderKind;
}

/**
 * A request to show another message: the original of a quoted reply (by msgid when the caller
 * found it, else by who was quoted and what, to look it up) or the message a revoke recalled.
 */
export interface JumpTarget {
  msgid?: string;
  quotedUser?: string;
  quotedText?: string;
}
