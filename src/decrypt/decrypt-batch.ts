import type { Kysely } from 'kysely';
import { ArchiveError } from '../errors/errors.ts';
import { WeComSdkError } from '../errors/wecom-codes.ts';
import { normalizeMessage, parseMessageJson } from '../messages/normalize-message.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database, Envelope, NewMessage } from '../store/schema.ts';
import type { RsaPool, RsaWorkerResult } from './rsa-pool.ts';

export interface DecryptDeps {
  db: Kysely<Database>;
  dialect: StoreDialect;
  backend: SdkBackend;
  rsa: RsaPool;
  now(): number;
}

/** Why an envelope waits instead of becoming a message. Stable strings: status groups by them. */
export type WaitReason = 'key_missing' | 'bad_base64' | 'rsa_failed' | 'sdk_error' | 'bad_json';

export interface Failure {
  msgid: string;
  reason: WaitReason;
  code: number | null;
  detail: string;
  /** worth another try later without any change (transient SDK codes) */
  transient: boolean;
}

export interface BatchOutcome {
  messages: NewMessage[];
  failures: Failure[];
  newestMsgtime: number | null;
}

export type EnvelopeRow = Pick<Envelope, 'msgid' | 'seq' | 'publickey_ver' | 'encrypt_random_key' | 'encrypt_chat_msg'>;

/**
 * Turns envelopes into messages: RSA-decrypts encrypt_random_key with the key of its publickey_ver
 * (on the worker pool), DecryptData through the corp's SDK backend, then parses. Pure with respect
 * to the database: the caller commits the outcome. Every envelope ends as a message or a failure
 * with its reason; none is dropped (design rule 3).
 */
export async function decryptBatch(deps: Pick<DecryptDeps, 'backend' | 'rsa' | 'now'>, corpid: string, rows: readonly EnvelopeRow[], signal?: AbortSignal): Promise<BatchOutcome> {
  const failures: Failure[] = [];
  const withKey: EnvelopeRow[] = [];
  for (const row of rows) {
    if (deps.rsa.hasKey(corpid, row.publickey_ver)) withKey.push(row);
    else failures.push({ msgid: row.msgid, reason: 'key_missing', code: row.publickey_ver, detail: `no private key of version ${row.publickey_ver}: add it with \`wecom-archive keys add --corp ${corpid} --version ${row.publickey_ver} --file KEY.pem\``, transient: false });
  }
  const keys = await deps.rsa.decrypt(corpid, withKey.map((r) => ({ version: r.publickey_ver, encryptRandomKey: r.encrypt_random_key })));
  const createdAt = deps.now();
  const settled = await Promise.all(withKey.map((row, i) => openOne(deps.backend, corpid, row, keys[i]!, createdAt, signal)));
  const messages: NewMessage[] = [];
  let newestMsgtime: number | null = null;
  for (const s of settled) {
    if ('failure' in s) failures.push(s.failure);
    else {
      messages.push(s.message);
      if (newestMsgtime === null || s.message.msgtime > newestMsgtime) newestMsgtime = s.message.msgtime;
    }
  }
  return { messages, failures, newestMsgtime };
}

async function openOne(backend: SdkBackend, corpid: string, row: EnvelopeRow, rsa: RsaWorkerResult, createdAt: number, signal?: AbortSignal): Promise<{ message: NewMessage } | { failure: Failure }> {
  const fail = (reason: WaitReason, detail: string, code: number | null = null, transient = false) => ({ failure: { msgid: row.msgid, reason, code, detail: detail.slice(0, 1000), transient } });
  if (rsa.error) {
    if (rsa.error.code === 'BAD_BASE64') return fail('bad_base64', rsa.error.message);
    if (rsa.error.code === 'KEY_MISSING') return fail('key_missing', rsa.error.message, row.publickey_ver);
    return fail('rsa_failed', `${rsa.error.message} (publickey_ver ${row.publickey_ver})`, row.publickey_ver);
  }
  let plain: Buffer;
  try {
    plain = await backend.decryptData(Buffer.from(rsa.key), row.encrypt_chat_msg, signal);
  } catch (err) {
    if (err instanceof WeComSdkError) return fail('sdk_error', err.message, err.wecomCode, err.transient);
    // A backend that is restarting or unreachable: try again later, nothing is lost.
    return fail('sdk_error', `DecryptData failed: ${(err as Error).message}`, null, true);
  }
  try {
    const parsed = parseMessageJson(plain.toString('utf8'));
    const m = normalizeMessage(parsed, row.msgid);
    return {
      message: {
        corpid, msgid: row.msgid, seq: row.seq, action: m.action, from_id: m.fromId, tolist: JSON.stringify(m.tolist),
        roomid: m.roomid, msgtime: m.msgtime, msgtype: m.msgtype, conversation_key: m.conversationKey,
        is_external: m.isExternal ? 1 : 0, is_updown: m.isUpdown ? 1 : 0, known_type: m.knownType ? 1 : 0,
        pre_msgid: m.preMsgid, raw: plain, created_at: createdAt,
      },
    };
  } catch (err) {
    return fail('bad_json', err instanceof ArchiveError ? err.message : String(err));
  }
}
