import { ArchiveError } from './errors.ts';

/** What a WeCom code means and what the user should do about it. */
export interface WeComCodeInfo {
  meaning: string;
  action: string;
  /** A retry of the same call may succeed. */
  transient: boolean;
}

/** Return codes of libWeWorkFinanceSdk_C, with the meanings its header gives them (10001–10003 are worth retrying). */
export const SDK_CODES: Readonly<Record<number, WeComCodeInfo>> = Object.freeze({
  10000: {
    meaning: 'parameter error',
    action: 'a request parameter was invalid (limit above 1000, a bad media index); this is a bug in the caller, please report it',
    transient: false,
  },
  10001: { meaning: 'network error', action: 'retried automatically; if it persists check the network path or proxy to qyapi.weixin.qq.com', transient: true },
  10002: { meaning: 'data parse failure', action: 'retried automatically', transient: true },
  10003: { meaning: 'system failure', action: 'retried automatically', transient: true },
  10004: {
    meaning: 'secret error caused encryption failure',
    action: 'check the corpid and that the secret is the 会话内容存档 (chat archive) Secret, not an app secret',
    transient: false,
  },
  10005: { meaning: 'fileid error', action: 'the sdkfileid is invalid; the message may be corrupt', transient: false },
  10006: { meaning: 'decrypt failure', action: 'check that the private key of this publickey_ver is the right one', transient: false },
  10007: { meaning: "no private key for the message's encryption version", action: 'add the private key of that version with `keys add`', transient: false },
  10008: { meaning: 'failed to parse encrypt_key', action: 'the RSA-decrypted key was not accepted; check the private key of this version', transient: false },
  10009: { meaning: 'illegal IP', action: "add this server's public IP to the trusted IPs of the chat archive in the WeCom admin console", transient: false },
  10010: { meaning: 'data expired', action: 'WeCom keeps archive data for 5 days; this data is gone', transient: false },
  10011: { meaning: 'certificate error', action: 'check the system clock and CA certificates; update the SDK', transient: false },
});

/** Global errors that any WeCom HTTP API may answer. */
export const API_CODES: Readonly<Record<number, WeComCodeInfo>> = Object.freeze({
  [-1]: { meaning: 'system busy', action: 'retried automatically with backoff', transient: true },
  40001: { meaning: 'invalid secret', action: 'check the secret; repeated failures can ban this IP for an hour', transient: false },
  40013: { meaning: 'invalid corpid', action: 'check the corpid', transient: false },
  40014: { meaning: 'invalid access_token', action: 'the token is fetched again automatically', transient: true },
  41001: { meaning: 'missing access_token', action: 'this is a bug, please report it', transient: false },
  42001: { meaning: 'access_token expired', action: 'the token is fetched again automatically', transient: true },
  45009: { meaning: 'API call frequency exceeded', action: 'backing off; lower the sync frequency if it persists', transient: true },
  45033: { meaning: 'too many concurrent calls to one API', action: 'backing off', transient: true },
  48002: { meaning: 'no permission for the API', action: 'grant the app this API in the admin console, or use the secret of the app that has it', transient: false },
  60011: { meaning: 'no permission for the member or department', action: "widen the app's visible range in the admin console", transient: false },
  60020: { meaning: 'untrusted IP', action: "add this server's IP to the app's trusted IPs (takes about a minute)", transient: false },
  84061: { meaning: 'no external-contact relationship', action: 'nothing to do: the contact is no longer related to this member', transient: false },
  301042: { meaning: 'IP not in the chat archive whitelist', action: "add this server's IP to the chat archive trusted IPs", transient: false },
  301048: { meaning: 'sdkfileid missing or expired', action: 'the media is gone from WeCom', transient: false },
  301052: { meaning: 'chat archive service expired', action: 'renew the chat archive service', transient: false },
  301053: { meaning: 'chat archive service not enabled', action: 'enable the chat archive service for this corp', transient: false },
  301058: { meaning: 'chat-data request too large', action: "lower the corp's limit", transient: false },
  301059: { meaning: 'not an internal group', action: 'use the customer-group API for this room', transient: false },
  301060: { meaning: 'too many agree-check entries (more than 100)', action: 'this is a bug, please report it', transient: false },
  301061: { meaning: 'userid or external id does not exist', action: 'nothing to do', transient: false },
});

function describe(table: Readonly<Record<number, WeComCodeInfo>>, code: number): WeComCodeInfo {
  return table[code] ?? { meaning: 'unknown code', action: 'see the WeCom documentation for this code', transient: false };
}

/** An SDK call returned non-zero. `wecomCode` is the SDK's code as it was. */
export class WeComSdkError extends ArchiveError {
  readonly wecomCode: number;
  readonly transient: boolean;

  constructor(wecomCode: number, operation: string, options: { cause?: unknown; detail?: string } = {}) {
    const info = describe(SDK_CODES, wecomCode);
    const detail = options.detail ? ` (${options.detail})` : '';
    super('WECOM_SDK_ERROR', `${operation} failed with SDK code ${wecomCode}: ${info.meaning}${detail}. ${info.action}`, { cause: options.cause, httpStatus: 502 });
    this.wecomCode = wecomCode;
    this.transient = info.transient;
  }
}

/** A WeCom HTTP API answered with a non-zero errcode (or a JSON-level errcode inside chat data). */
export class WeComApiError extends ArchiveError {
  readonly wecomCode: number;
  readonly transient: boolean;

  constructor(wecomCode: number, operation: string, errmsg = '', options: { cause?: unknown } = {}) {
    const info = describe(API_CODES, wecomCode);
    const said = errmsg ? ` (WeCom said: ${errmsg.slice(0, 200)})` : '';
    super('WECOM_API_ERROR', `${operation} failed with WeCom errcode ${wecomCode}: ${info.meaning}${said}. ${info.action}`, { cause: options.cause, httpStatus: 502 });
    this.wecomCode = wecomCode;
    this.transient = info.transient;
  }
}

/** True for SDK codes worth retrying (10001–10003). */
export function isTransientSdkCode(code: number): boolean {
  return describe(SDK_CODES, code).transient;
}
