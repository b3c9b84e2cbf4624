/**
 * The HTTP contract between the simulator and the `simulator:` SDK backend (docs/simulator.md).
 * Shared by both sides so they cannot drift apart.
 *
 * Every SDK route is a POST with a JSON body and answers HTTP 200 with the SDK's return code in
 * `x-sdk-ret`. With ret 0 the body is the SDK's output as raw bytes (chat JSON text, plaintext, or
 * a media chunk) and `x-sdk-length` gives its full length, so a cut body is detected (10002).
 * With ret ≠ 0 the body is `{"ret":code,"detail":"…"}`.
 */
export const SDK_ROUTES = {
  chatData: '/sdk/chatdata',
  decrypt: '/sdk/decrypt',
  media: '/sdk/media',
} as const;

export const HEADER_RET = 'x-sdk-ret';
export const HEADER_LENGTH = 'x-sdk-length';
/** GetMediaData's outindexbuf (ASCII `Range:bytes=a-b`, or empty) */
export const HEADER_OUT_INDEX = 'x-sdk-outindex';
/** GetMediaData's is_finish: "1" or "0" */
export const HEADER_FINISH = 'x-sdk-finish';

/** GetChatData. `seq` is a decimal string: it is a uint64 and must never pass through a double. */
export interface ChatDataRequestBody {
  corpid: string;
  secret: string;
  seq: string;
  limit: number;
  proxy: string;
  passwd: string;
  timeout: number;
}

export interface MediaRequestBody {
  corpid: string;
  secret: string;
  sdkfileid: string;
  indexbuf: string;
  proxy: string;
  passwd: string;
  timeout: number;
}

/** DecryptData. `encrypt_key` is base64 of the RSA-decrypted random key bytes. */
export interface DecryptRequestBody {
  encrypt_key: string;
  encrypt_msg: string;
}
