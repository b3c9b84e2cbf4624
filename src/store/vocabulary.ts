/**
 * The values of the store's state, reason, kind, lane and cause columns. They are defined here, below
 * everything that writes them, so that the schema can type every column without importing the stages;
 * each stage re-exports the vocabulary it owns.
 */

/** A corp's pull: pulling normally, backing off after a transient error, or stopped on a configuration error. */
export type PullState = 'ok' | 'retrying' | 'stopped';

/** A jump in seq: 'loss' when WeCom may have dropped data, 'jump' when nothing could have been dropped. */
export type GapKind = 'loss' | 'jump';

/**
 * Why an envelope waits instead of becoming a message: every value the envelopes' `reason` column
 * holds. Stable strings: `status` groups by them and `decrypt retry --reason` names them.
 */
export const WAIT_REASONS = ['key_missing', 'bad_base64', 'rsa_failed', 'sdk_error', 'bad_json', 'bad_envelope'] as const;
export type WaitReason = (typeof WAIT_REASONS)[number];

/** A callback's kind as the inbox stores it: the parsed event's kind, or 'invalid' when it could not be parsed. */
export type InboxKind = 'msgaudit_notify' | 'change_contact' | 'change_external_contact' | 'change_external_chat' | 'unknown' | 'invalid';

/** An inbox row's state. */
export type InboxState = 'pending' | 'working' | 'done' | 'failed' | 'ignored';

/** Where a directory name came from: a full sync, or a callback event. */
export type NameSource = 'sync' | 'event';

/** What a directory refresh row asks to describe. */
export type RefreshKind = 'member' | 'external' | 'group' | 'robot' | 'consent_single' | 'consent_room';

/** The parts of a directory sync, each with its own last-success time. */
export type SyncPart = 'members' | 'tags' | 'customer_groups' | 'permit_users' | 'callback_ips' | 'scan' | 'refresh';

/** The native SDK host's lanes: each runs its own host process. */
export type SdkHostLane = 'chat' | 'decrypt' | 'media';

/** Why a native SDK host was replaced. */
export type RestartCause = 'crash' | 'hang' | 'memory' | 'protocol';

/** A conversation: a 1:1 chat between members, a 1:1 chat with an external contact, or a group (room). */
export const CONVERSATION_KINDS = ['single', 'external', 'group'] as const;
export type ConversationKind = (typeof CONVERSATION_KINDS)[number];
