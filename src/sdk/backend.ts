/**
 * The one interface the pipeline uses to reach WeCom's archive SDK.
 * Two implementations: `simulator` (HTTP to the built-in simulator) and `native` (the real .so in a
 * supervised child process). Callers never see which one they hold.
 *
 * Every method either resolves with the SDK's output or rejects with a WeComSdkError carrying the
 * SDK return code (10000–10011) as it was. A GetChatData that returns 0 but whose JSON has a non-zero
 * `errcode` is NOT turned into an error here: the caller parses the JSON and decides (it is data).
 */
import type { WeComSdkError } from '../errors/wecom-codes.ts';

export interface ChatDataRequest {
  /** Return messages after this seq (exclusive). 0n for the first call. */
  seq: bigint;
  /** 1..1000 */
  limit: number;
  /** '' when unused */
  proxy: string;
  /** 'user:pass' or '' */
  passwd: string;
  /** seconds */
  timeoutS: number;
}

export interface MediaDataRequest {
  /** '' for the first chunk, then the previous `outIndex` verbatim */
  indexBuf: string;
  sdkFileId: string;
  proxy: string;
  passwd: string;
  timeoutS: number;
}

export interface MediaChunk {
  /** next index token to pass back ('' may come with isFinish) */
  outIndex: string;
  /** binary chunk, at most 524288 bytes; may contain NUL bytes */
  data: Buffer;
  isFinish: boolean;
}

export interface SdkBackend {
  /** The raw JSON text the SDK put in its Slice (bytes decoded as UTF-8). */
  getChatData(req: ChatDataRequest, signal?: AbortSignal): Promise<string>;
  /**
   * DecryptData(encrypt_key, encrypt_msg). `encryptKey` is the RSA-decrypted `encrypt_random_key`,
   * passed as-is. Returns the plaintext message bytes exactly as the SDK returned them.
   */
  decryptData(encryptKey: Buffer, encryptMsg: string, signal?: AbortSignal): Promise<Buffer>;
  /**
   * DecryptData of several messages in one exchange, where each call would otherwise cost one (the
   * native backend's host process). Answers in order: the plaintext, or the SDK's WeComSdkError for
   * that message. Rejects when the exchange itself fails (e.g. the SDK died on one of them): the
   * caller then decrypts them one by one. Backends whose calls are cheap leave it out.
   */
  decryptMany?(items: ReadonlyArray<{ encryptKey: Buffer; encryptMsg: string }>, signal?: AbortSignal): Promise<Array<Buffer | WeComSdkError>>;
  getMediaData(req: MediaDataRequest, signal?: AbortSignal): Promise<MediaChunk>;
  /** Release the SDK instance(s). Idempotent. */
  close(): Promise<void>;
}

/** Maximum bytes GetMediaData returns per call (512 KB). */
export const MEDIA_CHUNK_MAX = 524288;
/** Maximum `limit` of GetChatData; WeCom rejects a larger one. */
export const CHAT_LIMIT_MAX = 1000;
