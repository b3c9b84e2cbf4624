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

/** The alert rules (ops/alerts/alert-rules.ts): one incident row per rule and corp. */
export const ALERT_RULES = ['hours_left', 'new_gap', 'corp_stopped', 'media_failures', 'envelopes_waiting', 'sdk_restarts'] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/** An alert incident's state. */
export type AlertState = 'firing' | 'resolved';

/** What was last sent of an incident: nothing yet, its firing, or its resolution. */
export type AlertNotified = 'none' | AlertState;

/** An account's role (the access module's `Role`): what the `users.role` column holds. */
export const ACCOUNT_ROLES = ['admin', 'auditor', 'viewer'] as const;
export type AccountRole = (typeof ACCOUNT_ROLES)[number];

/** What a grant row gives: a whole corp, a department's conversations, one conversation, or (viewers) export. */
export const GRANT_KINDS = ['corp', 'department', 'conversation', 'export'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];
/** Where a sink delivers events: an HTTP webhook, or a NATS JetStream stream. */
export const SINK_TYPES = ['webhook', 'nats'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

/** What an outbox event reports. */
export type EventKind = 'message' | 'media_done' | 'recall' | 'directory_change';

/** What a media job fetches: the msgtype a media reference comes from (a mixed or chatrecord item's own type). */
export type MediaKind = 'image' | 'voice' | 'video' | 'file' | 'emotion' | 'meeting_voice_call' | 'voip_doc_share';

/** A sink's delivery position: waiting for its next try (or new events), or being delivered by the process that holds its lease. */
export type SinkCursorState = 'idle' | 'delivering' | 'stopped';

/** A dead letter: given up after the sink's tries, or asked to be delivered again (`sinks replay`). */
export type DeadLetterState = 'dead' | 'replay';

/** A conversation: a 1:1 chat between members, a 1:1 chat with an external contact, or a group (room). */
export const CONVERSATION_KINDS = ['single', 'external', 'group'] as const;
export type ConversationKind = (typeof CONVERSATION_KINDS)[number];
