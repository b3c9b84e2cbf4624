import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type {
  AccountRole,
  AlertNotified,
  AlertRule,
  AlertState,
  ConversationKind,
  DeadLetterState,
  EventKind,
  GapKind,
  GrantKind,
  InboxKind,
  InboxState,
  MediaKind,
  NameSource,
  PullState,
  RefreshKind,
  RestartCause,
  SdkHostLane,
  SinkCursorState,
  SinkType,
  SyncPart,
  WaitReason,
} from './vocabulary.ts';

/**
 * The one database schema, shared by SQLite, PostgreSQL and MySQL/MariaDB.
 * - seq columns hold 20-digit zero-padded text (see seq-codec.ts), never numbers.
 * - times are milliseconds since the epoch.
 * - `*_sealed` columns hold AES-GCM sealed secrets (vault/secret-box.ts), never plaintext.
 * - booleans are 0/1 integers.
 */
export interface Database {
  corps: CorpTable;
  key_versions: KeyVersionTable;
  cursors: CursorTable;
  envelopes: EnvelopeTable;
  messages: MessageTable;
  gaps: GapTable;
  sdk_host_restarts: SdkHostRestartTable;
  media: MediaTable;
  corp_api_settings: CorpApiSettingsTable;
  callback_apps: CallbackAppTable;
  wecom_login_apps: WecomLoginAppTable;
  callback_inbox: CallbackInboxTable;
  callback_ip_list: CallbackIpTable;
  dir_departments: DirDepartmentTable;
  dir_members: DirMemberTable;
  dir_tags: DirTagTable;
  dir_tag_members: DirTagMemberTable;
  dir_external_contacts: DirExternalContactTable;
  dir_groups: DirGroupTable;
  dir_robots: DirRobotTable;
  dir_name_history: DirNameHistoryTable;
  dir_consent: DirConsentTable;
  dir_permit_users: DirPermitUserTable;
  dir_refresh_queue: DirRefreshQueueTable;
  dir_sync_state: DirSyncStateTable;
  vault_checks: VaultCheckTable;
  key_history: KeyHistoryTable;
  search_pending: SearchPendingTable;
  search_docs: SearchDocTable;
  alert_incidents: AlertIncidentTable;
  alert_sends: AlertSendTable;
  users: UserTable;
  grants: GrantTable;
  sessions: SessionTable;
  api_tokens: ApiTokenTable;
  settings: SettingTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  sinks: SinkTable;
  event_counters: EventCounterTable;
  event_outbox: EventOutboxTable;
  sink_cursors: SinkCursorTable;
  sink_dead_letters: SinkDeadLetterTable;
  conversations: ConversationTable;
  conversation_participants: ConversationParticipantTable;
  config_revision: ConfigRevisionTable;
}

export interface CorpTable {
  corpid: string;
  secret_sealed: string;
  /** `simulator:URL` or `native:PATH` */
  sdk: string;
  proxy: string | null;
  proxy_auth_sealed: string | null;
  chat_limit: number;
  timeout_s: number;
  created_at: number;
  updated_at: number;
}

export interface KeyVersionTable {
  corpid: string;
  version: number;
  private_key_sealed: string;
  /** hex SHA-256 of the public key (SPKI DER): safe to show */
  fingerprint: string;
  bits: number;
  created_at: number;
}

/** Check values of the vault's keys: `master_key` is an HMAC of a constant under the master key. */
export interface VaultCheckTable {
  name: string;
  check_value: string;
  created_at: number;
}

/** Every replacement of a corp's private key (`keys replace`), by fingerprint: never key material. */
export interface KeyHistoryTable {
  id: Generated<number>;
  corpid: string;
  version: number;
  old_fingerprint: string;
  new_fingerprint: string;
  /** messages the old key had decrypted when it was replaced */
  decrypted_messages: number;
  /** 1 when replaced with --force although it had decrypted messages */
  forced: number;
  replaced_at: number;
}

/** Pull state per corp: where the next GetChatData starts and how the last ones went. */
export interface CursorTable {
  corpid: string;
  seq: string;
  state: PullState;
  last_error_code: number | null;
  last_error: string | null;
  last_pull_at: number | null;
  last_success_at: number | null;
  /** last time a pull came back with less than a full page: everything older than this is stored */
  caught_up_at: number | null;
  /** newest msgtime seen in a decrypted message (for lag) */
  newest_msgtime: number | null;
  /** every envelope at or below this seq is handled (message stored, or waiting with a reason); null: none yet */
  decrypted_seq: string | null;
  /** the process that holds the corp's pull (`host/pid/random`), and until when; null: nobody */
  lease_owner: string | null;
  lease_until: number | null;
  updated_at: number;
}

/** What GetChatData returned, stored before any decryption (docs/design.md rule 1). */
/** The states of an envelope, see EnvelopeTable.state. */
export type EnvelopeState = 'pending' | 'waiting' | 'retry' | 'done';

export interface EnvelopeTable {
  corpid: string;
  msgid: string;
  seq: string;
  publickey_ver: number;
  encrypt_random_key: string;
  encrypt_chat_msg: string;
  /**
   * 'pending': stored, to decrypt — unless its seq is at or below the corp's cursors.decrypted_seq,
   * which means its message is stored (fresh envelopes are not rewritten after decryption);
   * 'waiting': could not be decrypted yet, see reason; 'retry': put back after waiting (a key was
   * added, its next_attempt_at came, `decrypt retry`); 'done': decrypted on a retry, or before the watermark existed.
   */
  state: EnvelopeState;
  /** why it waits (store/vocabulary.ts; decrypt/wait-reasons.ts says how each is retried) */
  reason: WaitReason | null;
  reason_code: number | null;
  reason_detail: string | null;
  /** failed tries since it was stored or last queued by `decrypt retry` (the backoff's exponent) */
  attempts: number;
  /** a waiting envelope that is retried by itself: when it is due (ms); null: it waits for a key or an operator */
  next_attempt_at: number | null;
  received_at: number;
  updated_at: number;
}

export interface MessageTable {
  corpid: string;
  msgid: string;
  seq: string;
  /** 'send' | 'recall' | 'switch' */
  action: string;
  from_id: string;
  /** JSON array of ids */
  tolist: string;
  roomid: string;
  msgtime: number;
  msgtype: string;
  /** `room:<roomid>` for groups, `pair:<a>|<b>` (sorted ids) for 1:1 chats */
  conversation_key: string;
  is_external: number;
  is_updown: number;
  known_type: number;
  /** revoke.pre_msgid: the recalled message */
  pre_msgid: string | null;
  /** the decrypted message JSON exactly as the SDK returned it */
  raw: Buffer;
  created_at: number;
}

/**
 * A jump in seq from the cursor (docs/design.md rule 8). 'loss': the cursor was older than WeCom's window,
 * or near its edge, so WeCom may have dropped data silently; 'jump': the cursor was well inside the
 * window, so nothing could have been dropped (WeCom does not promise contiguous seqs). See
 * pull/gap-kind.ts.
 */
export interface GapTable {
  id: Generated<number>;
  corpid: string;
  after_seq: string;
  next_seq: string;
  detected_at: number;
  note: string;
  kind: GapKind;
  /** how old the cursor was when the jump came; null: not known */
  cursor_age_ms: number | null;
}

/** A native SDK host process that was restarted (crash, hang or memory ceiling), for `status`. */
export interface SdkHostRestartTable {
  id: Generated<number>;
  corpid: string;
  /** which host of the corp's pool */
  lane: SdkHostLane;
  cause: RestartCause;
  /** e.g. 'SIGSEGV', 'SIGABRT' */
  signal: string | null;
  exit_code: number | null;
  /** the SDK function that was running, e.g. 'GetMediaData' */
  operation: string | null;
  rss_bytes: number | null;
  detail: string;
  occurred_at: number;
}

export type Corp = Selectable<CorpTable>;
export type NewCorp = Insertable<CorpTable>;
export type CorpUpdate = Updateable<CorpTable>;
export type KeyVersion = Selectable<KeyVersionTable>;
export type Cursor = Selectable<CursorTable>;
export type Envelope = Selectable<EnvelopeTable>;
export type NewEnvelope = Insertable<EnvelopeTable>;
export type Message = Selectable<MessageTable>;
export type NewMessage = Insertable<MessageTable>;
export type Gap = Selectable<GapTable>;
export type SdkHostRestart = Selectable<SdkHostRestartTable>;

/** WeCom HTTP API settings of a corp; the archive secret stays in `corps`. */
export interface CorpApiSettingsTable {
  corpid: string;
  /** null: https://qyapi.weixin.qq.com for native corps, the simulator's URL for simulator corps */
  api_base: string | null;
  /** 通讯录同步 (contacts) secret, sealed */
  contacts_secret_sealed: string | null;
  /** 客户联系 (customer contact) secret, sealed */
  customer_secret_sealed: string | null;
  updated_at: number;
}

/** A callback configuration ("API receive" settings of one WeCom app): `/callback/{corpid}/{app}`. */
export interface CallbackAppTable {
  corpid: string;
  app: string;
  token_sealed: string;
  /** the 43-character EncodingAESKey, sealed */
  aes_key_sealed: string;
  /** what decrypted callbacks must be addressed to: the corpid, or '' for robots */
  receive_id: string;
  created_at: number;
  updated_at: number;
}

/** The WeCom app whose OAuth2 signs users in, per corp (`corp login-app`). */
export interface WecomLoginAppTable {
  corpid: string;
  /** the app's AgentId, digits */
  agentid: string;
  /** shown on the sign-in button */
  name: string;
  /** the app's Secret, sealed */
  secret_sealed: string;
  /** the archive's address as browsers reach it: redirect_uri = public_url + /api/session/wecom/callback */
  public_url: string;
  /** null: WeCom's own pages for native corps, the simulator's URL for simulator corps */
  authorize_base: string | null;
  created_at: number;
  updated_at: number;
}

/** Every accepted callback, stored before the reply; handlers claim rows from here. */
export interface CallbackInboxTable {
  id: Generated<number>;
  corpid: string;
  app: string;
  /** hex SHA-256 of the decrypted event: a retried delivery has the same key */
  dedup_key: string;
  kind: InboxKind;
  event: string | null;
  change_type: string | null;
  /** the decrypted event XML */
  body: string;
  remote_addr: string | null;
  /** the event's CreateTime in ms */
  event_time: number | null;
  state: InboxState;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  received_at: number;
  updated_at: number;
  done_at: number | null;
}

/** WeCom's callback source addresses (getcallbackip): exact IPs, `a.b.c.*` patterns or CIDRs. */
export interface CallbackIpTable {
  entry: string;
  source_corpid: string;
  fetched_at: number;
}

/** Who a tag names: a member ('user') or a department ('party'), as WeCom calls them. */
export type TagMemberKind = 'user' | 'party';

/** 'ok'; 'no_relation' (84061: no member follows them any more); 'unknown' (never described). */
export type ExternalContactStatus = 'ok' | 'no_relation' | 'unknown';

/** 'internal' (msgaudit/groupchat/get); 'customer' (externalcontact/groupchat); 'unknown' (not described yet). */
export type GroupKind = 'internal' | 'customer' | 'unknown';

/** 'ok'; 'dismissed'; 'undescribable' (neither group API describes it). */
export type GroupStatus = 'ok' | 'dismissed' | 'undescribable';

/** What a name history row is about. */
export type DirEntityKind = 'member' | 'department' | 'external' | 'group' | 'robot' | 'tag';

/** Which value of a directory entity changed: its name, or a member's userid (NewUserID). */
export type RenamedField = 'name' | 'userid';

/** Consent per member (1:1 chats with the customer) or per group. */
export type ConsentScope = 'single' | 'room';

/** Where a consent row came from: the consent API, or a callback event. */
export type ConsentSource = 'api' | 'event';

/**
 * Why an id is queued for a refresh: seen in a message, or named by an event; the 'customer_' ones
 * name a customer group (described by the externalcontact API, not msgaudit's).
 */
export type RefreshReason = 'seen' | 'event' | 'customer_event' | 'customer_sync';

/** A queued refresh is 'pending' until it succeeds (its row is deleted) or is given up ('gave_up'). */
export type RefreshState = 'pending' | 'gave_up';

export interface DirDepartmentTable {
  corpid: string;
  dept_id: number;
  name: string | null;
  name_en: string | null;
  parent_id: number | null;
  sort_order: number | null;
  deleted_at: number | null;
  synced_at: number | null;
  updated_at: number;
}

/** A member (userid). Deleted and renamed members keep their row: archived messages still name them. */
export interface DirMemberTable {
  corpid: string;
  userid: string;
  name: string | null;
  /** the name's search keys (directory/name-keys.ts): pinyin readings and their initials, space-separated */
  name_pinyin: string | null;
  name_initials: string | null;
  alias: string | null;
  position: string | null;
  /** JSON array of department ids */
  departments: string | null;
  main_department: number | null;
  /** 1 active, 2 disabled, 4 inactive, 5 quit */
  status: number | null;
  /** the userid this one was changed to (NewUserID) */
  renamed_to: string | null;
  deleted_at: number | null;
  synced_at: number | null;
  updated_at: number;
}

export interface DirTagTable {
  corpid: string;
  tag_id: number;
  name: string | null;
  updated_at: number;
}

export interface DirTagMemberTable {
  corpid: string;
  tag_id: number;
  member_kind: TagMemberKind;
  member_id: string;
  updated_at: number;
}

export interface DirExternalContactTable {
  corpid: string;
  external_userid: string;
  name: string | null;
  /** the name's search keys (directory/name-keys.ts): pinyin readings and their initials, space-separated */
  name_pinyin: string | null;
  name_initials: string | null;
  /** 1 WeChat user, 2 WeCom user */
  type: number | null;
  corp_name: string | null;
  corp_full_name: string | null;
  position: string | null;
  /** JSON array of {userid, remark, createtime} */
  follow_users: string | null;
  status: ExternalContactStatus;
  last_error_code: number | null;
  last_error: string | null;
  synced_at: number | null;
  updated_at: number;
}

export interface DirGroupTable {
  corpid: string;
  roomid: string;
  kind: GroupKind;
  name: string | null;
  /** the name's search keys (directory/name-keys.ts): pinyin readings and their initials, space-separated */
  name_pinyin: string | null;
  name_initials: string | null;
  owner: string | null;
  notice: string | null;
  /** ms */
  create_time: number | null;
  member_count: number | null;
  /** JSON array of {id, type, join_time} */
  members: string | null;
  status: GroupStatus;
  last_error_code: number | null;
  last_error: string | null;
  synced_at: number | null;
  updated_at: number;
}

export interface DirRobotTable {
  corpid: string;
  robot_id: string;
  name: string | null;
  creator_userid: string | null;
  synced_at: number | null;
  updated_at: number;
}

/** Renames keep history: every change of a name, and every userid change (NewUserID). */
export interface DirNameHistoryTable {
  id: Generated<number>;
  corpid: string;
  entity_kind: DirEntityKind;
  entity_id: string;
  field: RenamedField;
  old_value: string | null;
  new_value: string | null;
  source: NameSource;
  changed_at: number;
}

/** A customer's consent to archiving: per member (single) or per group (room). */
export interface DirConsentTable {
  corpid: string;
  scope: ConsentScope;
  /** the member's userid, or the roomid */
  scope_id: string;
  external_id: string;
  /** 'Agree' | 'Disagree' | 'Default_Agree' */
  status: string;
  /** ms */
  status_change_time: number | null;
  source: ConsentSource;
  checked_at: number;
}

/** Members whose chats are archived (msgaudit/get_permit_user_list). */
export interface DirPermitUserTable {
  corpid: string;
  userid: string;
  synced_at: number;
}

/** Ids the directory should (re)describe through the API: seen in messages, or named by an event. */
export interface DirRefreshQueueTable {
  corpid: string;
  entity_kind: RefreshKind;
  /** the id; `userid|external_userid` for consent_single */
  entity_id: string;
  reason: RefreshReason;
  state: RefreshState;
  attempts: number;
  next_attempt_at: number;
  last_error_code: number | null;
  last_error: string | null;
  /** the process describing it now (`host/pid/random`) and until when; null: nobody */
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
}

/** How each part of a corp's directory sync last went. */
export interface DirSyncStateTable {
  corpid: string;
  part: SyncPart;
  last_started_at: number | null;
  last_success_at: number | null;
  last_error_code: number | null;
  last_error: string | null;
  items: number | null;
  duration_ms: number | null;
  /** for 'scan': the last message seq scanned for ids */
  watermark: string | null;
  updated_at: number;
}

export type CallbackInboxRow = Selectable<CallbackInboxTable>;
export type DirMember = Selectable<DirMemberTable>;
export type NewDirMember = Insertable<DirMemberTable>;
export type DirGroup = Selectable<DirGroupTable>;
export type DirExternalContact = Selectable<DirExternalContactTable>;
export type DirRefreshQueueRow = Selectable<DirRefreshQueueTable>;

/** Media states: pending → downloading → done | unverified | failed | expired. */
export type MediaState = 'pending' | 'downloading' | 'done' | 'unverified' | 'failed' | 'expired';

/**
 * One media reference (sdkfileid) of a stored message and its download (migration 0003). The
 * resume point (`index_token`, `bytes_done`) is committed after every chunk. File names from the
 * message are metadata only: the bytes are stored under their SHA-256 (`storage_key`).
 */
export interface MediaTable {
  id: Generated<number>;
  corpid: string;
  msgid: string;
  /** position of the reference in its message (0, 1, … for mixed and chatrecord items) */
  slot: number;
  msgtype: string;
  kind: MediaKind;
  /** where in the message, e.g. `image`, `mixed.item[2]`, `chatrecord.item[0]` */
  path: string;
  sdkfileid: string;
  /** lowercase hex md5 WeCom gave; null when it gave none (or a malformed one) */
  md5_expected: string | null;
  size_expected: number | null;
  file_name: string | null;
  state: MediaState;
  /** GetMediaData index to pass back verbatim ('' = from the start) */
  index_token: string;
  /** bytes committed to the partial file at `index_token` */
  bytes_done: number;
  /** names the partial file (random, so no two databases or corps share one) */
  partial_id: string | null;
  /** whole-file downloads started (md5 mismatches refetch from zero) */
  attempts: number;
  /** consecutive failed tries of the current chunk or job (backoff) */
  failures: number;
  /** not claimed before this time (ms) */
  next_try_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  /** the WeCom SDK code of the last failure, kept as is */
  error_code: number | null;
  error: string | null;
  sha256: string | null;
  md5: string | null;
  size: number | null;
  /** sniffed from the bytes, never from the name */
  content_type: string | null;
  storage_key: string | null;
  /** amr-nb | amr-wb | silk when the bytes are a voice recording */
  voice_format: string | null;
  /** the browser-playable copy beside the original */
  converted_key: string | null;
  converted_type: string | null;
  convert_error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export type MediaJob = Selectable<MediaTable>;
export type NewMediaJob = Insertable<MediaTable>;

/**
 * Messages stored but not yet in the search index: written in the transaction that stores the
 * message, deleted in the transaction that indexes it. Messages are not stored in seq order (one
 * waiting for a key is stored later, with a lower seq), so the index follows these rows, not a seq.
 */
export interface SearchPendingTable {
  corpid: string;
  /** the message's: the queue is keyed (corpid, msgtime, msgid), so it is worked off oldest first */
  msgtime: number;
  msgid: string;
  queued_at: number;
}

/**
 * One row per indexed message; the full-text columns that go with it differ by dialect
 * (store/dialects/*-search.ts) and are reached only through StoreDialect.search.
 */
export interface SearchDocTable {
  corpid: string;
  msgid: string;
  /** the message's (messages.conversation_key), for the conversation filter and a reader's scope; migration 0024 */
  conversation_key: string;
}

/**
 * One alert rule's incident for one corp (migration 0016): opened and resolved by compare-and-set
 * updates of `state`; `notified` is what was last sent, so each incident is announced once and its
 * resolution once. The sender holds the row's lease while it sends.
 */
export interface AlertIncidentTable {
  rule: AlertRule;
  corpid: string;
  state: AlertState;
  /** incidents opened so far for this rule and corp (1, 2, …) */
  incident: number;
  /** what the rule found, in a few words (no secrets, no message content) */
  detail: string;
  opened_at: number;
  resolved_at: number | null;
  notified: AlertNotified;
  last_sent_at: number | null;
  /** failed sends in a row (the backoff's exponent) */
  failures: number;
  /** no send is tried before this time (ms) */
  next_try_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  updated_at: number;
}

/** Every alert message sent (the global cap counts them). */
export interface AlertSendTable {
  id: Generated<number>;
  rule: AlertRule;
  corpid: string;
  state: AlertState;
  incident: number;
  sent_at: number;
}

/** An account that may sign in. `password_hash` is an argon2id PHC string, never the password. */
export interface UserTable {
  id: Generated<number>;
  username: string;
  role: AccountRole;
  password_hash: string;
  disabled: number;
  /** failed logins in a row since the last success or lock */
  failed_logins: number;
  locked_until: number | null;
  /** the WeCom account this user signs in with (both set, or both null) */
  wecom_corpid: string | null;
  wecom_userid: string | null;
  created_at: number;
  updated_at: number;
}

/** One thing a user may read (or, `export`, do). Unused columns hold '' / 0 so the unique index works on every database. */
export interface GrantTable {
  id: Generated<number>;
  user_id: number;
  kind: GrantKind;
  corpid: string;
  department_id: number;
  conversation: string;
  created_at: number;
}

/** A signed-in browser. `token_hash` is the hex SHA-256 of the cookie's random token. */
export interface SessionTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  created_at: number;
  /** when the session was last seen, recorded at most once per touch interval */
  last_seen: number;
  /** idle timeout, fixed when the session opened */
  idle_ms: number;
  /** the absolute end, fixed when the session opened */
  expires_at: number;
  revoked_at: number | null;
  ip: string | null;
  user_agent: string | null;
}

/** A script's bearer token. `token_hash` is the hex SHA-256 of the token, which is shown once and never stored. */
export interface ApiTokenTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used: number | null;
}

/** Access settings changed at run time (`settings set`). */
export interface SettingTable {
  name: string;
  value: string;
  updated_at: number;
}

/**
 * The append-only audit log. `id` is given under the lock of `audit_head`; `hash` is the SHA-256 of
 * the row's fields and `prev_hash` (see access/audit-log.ts), so a changed, removed or inserted row
 * breaks the chain.
 */
export interface AuditLogTable {
  id: number;
  at: number;
  user_id: number | null;
  username: string;
  role: AccountRole | null;
  action: string;
  corpid: string | null;
  conversation: string | null;
  /** canonical JSON (keys sorted) of the query and filters */
  query: string | null;
  items: number | null;
  reason: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  prev_hash: string;
  hash: string;
}

/** The one row (id 1) every audit append locks first: the last row's id and hash. */
export interface AuditHeadTable {
  id: number;
  last_id: number;
  last_hash: string;
}

/** Where a corp's events go (`sinks add`); migration 0015. */
export interface SinkTable {
  id: Generated<number>;
  corpid: string;
  type: SinkType;
  /** http(s):// for a webhook, nats:// for NATS */
  url: string;
  /** the JetStream stream (NATS only) */
  stream: string | null;
  /** 1: events carry the decrypted message JSON */
  include_content: number;
  /** the webhook's HMAC key, sealed (vault/secret-box.ts); null for NATS */
  secret_sealed: string | null;
  disabled: number;
  created_at: number;
  updated_at: number;
}

/** The last event seq given out per corp: the row lock orders a corp's events by commit. */
export interface EventCounterTable {
  corpid: string;
  last_seq: number;
}

/** One event, written in the transaction of what it reports; deleted once every sink of its corp is past it. */
export interface EventOutboxTable {
  id: Generated<number>;
  corpid: string;
  /** per corp, in commit order: the delivery order */
  seq: number;
  kind: EventKind;
  /** what it reports (msgid, media msgid/slot, …): unique per corp and kind */
  ref: string;
  /** ids and metadata as JSON; never message content */
  payload: string;
  created_at: number;
}

/** A sink's delivery position, leased by the process that delivers it. */
export interface SinkCursorTable {
  sink_id: number;
  corpid: string;
  /** every event of the corp up to this seq is delivered or dead-lettered */
  delivered_seq: number;
  state: SinkCursorState;
  /** failed tries of the event at the head */
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_success_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  updated_at: number;
}

/** An event a sink gave up on after its tries; `sinks replay` asks for it again. */
export interface SinkDeadLetterTable {
  sink_id: number;
  event_id: number;
  corpid: string;
  seq: number;
  state: DeadLetterState;
  attempts: number;
  last_error: string | null;
  dead_at: number;
}

export type Sink = Selectable<SinkTable>;
export type OutboxEvent = Selectable<EventOutboxTable>;
export type SinkCursor = Selectable<SinkCursorTable>;

/**
 * One row per conversation (migration 0013), kept in the transaction that stores its messages, so
 * the conversation list reads a page of rows instead of grouping the messages table.
 */
export interface ConversationTable {
  corpid: string;
  /** messages.conversation_key */
  conversation_key: string;
  kind: ConversationKind;
  /** '' for 1:1 chats */
  roomid: string;
  message_count: number;
  first_msgtime: number;
  /** the newest message by (msgtime, seq): the list's order and its preview */
  last_msgtime: number;
  last_seq: string;
  last_msgid: string;
}

/** Everyone who sent or received a message of a conversation: for department scopes and the member/customer filters. */
export interface ConversationParticipantTable {
  corpid: string;
  conversation_key: string;
  /** a member's userid, an external contact's or a robot's id */
  userid: string;
}

/** The configuration's revision (one row, id 1): raised by every change of corps, keys or callback apps; migration 0017. */
export interface ConfigRevisionTable {
  id: number;
  revision: number | string;
}
