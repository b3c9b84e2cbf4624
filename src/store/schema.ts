import type { Generated, Insertable, Selectable, Updateable } from 'kysely';

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

/** Pull state per corp: where the next GetChatData starts and how the last ones went. */
export interface CursorTable {
  corpid: string;
  seq: string;
  /** 'ok' | 'retrying' | 'stopped' */
  state: string;
  last_error_code: number | null;
  last_error: string | null;
  last_pull_at: number | null;
  last_success_at: number | null;
  /** last time a pull came back with less than a full page: everything older than this is stored */
  caught_up_at: number | null;
  /** newest msgtime seen in a decrypted message (for lag) */
  newest_msgtime: number | null;
  updated_at: number;
}

/** What GetChatData returned, stored before any decryption (design rule 1). */
export interface EnvelopeTable {
  corpid: string;
  msgid: string;
  seq: string;
  publickey_ver: number;
  encrypt_random_key: string;
  encrypt_chat_msg: string;
  /** 'pending' | 'done' | 'waiting' */
  state: string;
  /** why it waits: 'key_missing' | 'rsa_failed' | 'sdk_error' | 'bad_json' … */
  reason: string | null;
  reason_code: number | null;
  reason_detail: string | null;
  attempts: number;
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

/** A silent skip by WeCom: the cursor was older than the window and seq jumped (design rule 8). */
export interface GapTable {
  id: Generated<number>;
  corpid: string;
  after_seq: string;
  next_seq: string;
  detected_at: number;
  note: string;
}

/** A native SDK host process that was restarted (crash, hang or memory ceiling), for `status`. */
export interface SdkHostRestartTable {
  id: Generated<number>;
  corpid: string;
  /** which host of the corp's pool: 'chat' | 'decrypt' | 'media' */
  lane: string;
  /** 'crash' | 'hang' | 'memory' | 'protocol' */
  cause: string;
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
