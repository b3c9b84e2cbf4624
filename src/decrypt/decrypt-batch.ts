import type { Kysely } from 'kysely';
import type { Logger } from '../app/logger.ts';
import { ArchiveError } from '../errors/errors.ts';
import { WeComSdkError } from '../errors/wecom-codes.ts';
import { normalizeMessage, parseMessageJson } from '../messages/normalize-message.ts';
import { messageRowOf } from '../messages/message-row.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database, Envelope, NewMessage } from '../store/schema.ts';
import type { RsaPool, RsaWorkerResult } from './rsa-pool.ts';
import type { WaitReason } from './wait-reasons.ts';

export type { WaitReason } from './wait-reasons.ts';

export interface DecryptDeps {
  db: Kysely<Database>;
  dialect: StoreDialect;
  backend: SdkBackend;
  rsa: RsaPool;
  now(): number;
  /** the stage's decisions at debug level, failed exchanges at warn; never a key or a message body */
  log?: Logger | undefined;
}

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
 * with its reason; none is dropped (docs/design.md rule 3).
 */
export async function decryptBatch(
  deps: Pick<DecryptDeps, 'backend' | 'rsa' | 'now' | 'log'>,
  corpid: string,
  rows: readonly EnvelopeRow[],
  signal?: AbortSignal,
): Promise<BatchOutcome> {
  const failures: Failure[] = [];
  const withKey: EnvelopeRow[] = [];
  for (const row of rows) {
    if (deps.rsa.hasKey(corpid, row.publickey_ver)) withKey.push(row);
    else
      failures.push({
        msgid: row.msgid,
        reason: 'key_missing',
        code: row.publickey_ver,
        detail: `no private key of version ${row.publickey_ver}: add it with \`wecom-archive keys add --corp ${corpid} --version ${row.publickey_ver} --file KEY.pem\``,
        transient: false,
      });
  }
  const keys = await deps.rsa.decrypt(
    corpid,
    withKey.map((r) => ({ version: r.publickey_ver, encryptRandomKey: r.encrypt_random_key })),
  );
  const createdAt = deps.now();
  const many = deps.backend.decryptMany ? await openMany(deps, corpid, withKey, keys, createdAt, signal) : undefined;
  const settled = many ?? (await Promise.all(withKey.map((row, i) => openOne(deps.backend, corpid, row, keys[i]!, createdAt, signal))));
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

type Opened = { message: NewMessage } | { failure: Failure };

function failure(row: EnvelopeRow, reason: WaitReason, detail: string, code: number | null = null, transient = false): Opened {
  return { failure: { msgid: row.msgid, reason, code, detail: detail.slice(0, 1000), transient } };
}

/** Why the RSA step failed for this row. */
function rsaFailure(row: EnvelopeRow, error: NonNullable<RsaWorkerResult['error']>): Opened {
  if (error.code === 'BAD_BASE64') return failure(row, 'bad_base64', error.message);
  if (error.code === 'KEY_MISSING') return failure(row, 'key_missing', error.message, row.publickey_ver);
  return failure(row, 'rsa_failed', `${error.message} (publickey_ver ${row.publickey_ver})`, row.publickey_ver);
}

/** What a DecryptData that threw means for the row. */
function sdkFailure(row: EnvelopeRow, err: unknown): Opened {
  if (err instanceof WeComSdkError) return failure(row, 'sdk_error', err.message, err.wecomCode, err.transient);
  // A backend that is restarting or unreachable: try again later, nothing is lost.
  return failure(row, 'sdk_error', `DecryptData failed: ${(err as Error).message}`, null, true);
}

async function openOne(backend: SdkBackend, corpid: string, row: EnvelopeRow, rsa: RsaWorkerResult, createdAt: number, signal?: AbortSignal): Promise<Opened> {
  if (rsa.error) return rsaFailure(row, rsa.error);
  let plain: Buffer;
  try {
    plain = await backend.decryptData(Buffer.from(rsa.key), row.encrypt_chat_msg, signal);
  } catch (err) {
    return sdkFailure(row, err);
  }
  return toMessage(corpid, row, plain, createdAt);
}

/**
 * The batch's DecryptData calls in one exchange (backends with decryptMany). Undefined when the
 * exchange failed as a whole: the caller then makes one call per row, so a message that kills the
 * SDK fails alone.
 */
async function openMany(
  deps: Pick<DecryptDeps, 'backend' | 'log'>,
  corpid: string,
  rows: readonly EnvelopeRow[],
  keys: readonly RsaWorkerResult[],
  createdAt: number,
  signal?: AbortSignal,
): Promise<Opened[] | undefined> {
  const asked: number[] = [];
  for (let i = 0; i < rows.length; i++) if (!keys[i]!.error) asked.push(i);
  let answers: Array<Buffer | WeComSdkError>;
  try {
    answers = asked.length
      ? await deps.backend.decryptMany!(
          asked.map((i) => ({ encryptKey: Buffer.from(keys[i]!.key!), encryptMsg: rows[i]!.encrypt_chat_msg })),
          signal,
        )
      : [];
  } catch (err) {
    // the cause's own words and code only: an exchange error never carries a key or a message
    const cause = err as { message?: unknown; code?: unknown; wecomCode?: unknown };
    deps.log?.warn(
      { corp: corpid, stage: 'decrypt', messages: asked.length, cause: String(cause?.message ?? err).slice(0, 500), code: cause?.wecomCode ?? cause?.code ?? null },
      'DecryptData of a batch in one exchange failed; each message is decrypted on its own',
    );
    return undefined;
  }
  if (answers.length !== asked.length) {
    deps.log?.warn(
      { corp: corpid, stage: 'decrypt', messages: asked.length, answers: answers.length },
      'DecryptData of a batch answered for the wrong number of messages; each message is decrypted on its own',
    );
    return undefined;
  }
  let next = 0;
  return rows.map((row, i) => {
    const rsa = keys[i]!;
    if (rsa.error) return rsaFailure(row, rsa.error);
    const answer = answers[next++]!;
    return Buffer.isBuffer(answer) ? toMessage(corpid, row, answer, createdAt) : sdkFailure(row, answer);
  });
}

/** The decrypted bytes parsed and normalized into a message row, or why they cannot be. */
function toMessage(corpid: string, row: EnvelopeRow, plain: Buffer, createdAt: number): Opened {
  try {
    const parsed = parseMessageJson(plain.toString('utf8'));
    const m = normalizeMessage(parsed, row.msgid);
    return { message: messageRowOf(corpid, row.seq, m, plain, createdAt) };
  } catch (err) {
    return failure(row, 'bad_json', err instanceof ArchiveError ? err.message : String(err));
  }
}
