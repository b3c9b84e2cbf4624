/**
 * Errors of the WeCom API client. WeCom's own code is always kept (`wecomCode`) and explained:
 * wecom-codes.ts covers the codes every WeCom API may answer; the directory APIs answer a few more,
 * explained here.
 */
import { ArchiveError } from '../errors/errors.ts';
import { API_CODES, WeComApiError, type WeComCodeInfo } from '../errors/wecom-codes.ts';

/** Codes the directory APIs return beyond the global table. */
export const DIRECTORY_API_CODES: Readonly<Record<number, WeComCodeInfo>> = Object.freeze({
  40003: { meaning: 'invalid userid', action: 'the member does not exist (any more) in this corp', transient: false },
  40050: { meaning: 'chatid does not exist', action: 'WeCom cannot describe this group through this API', transient: false },
  40068: { meaning: 'invalid tag id', action: 'the tag was deleted', transient: false },
  40096: { meaning: 'invalid external userid', action: 'the external contact does not exist for this app', transient: false },
  41001: API_CODES[41001]!,
  60111: { meaning: 'userid not found', action: "the member was deleted or is outside the contacts app's visible range", transient: false },
  60123: { meaning: 'invalid department id', action: 'the department was deleted', transient: false },
});

/** A WeCom API call answered errcode != 0; the message explains the code and what to do. */
export class WeComApiCallError extends WeComApiError {
  constructor(wecomCode: number, operation: string, errmsg = '', options: { cause?: unknown } = {}) {
    super(wecomCode, operation, errmsg, options);
    const extra = API_CODES[wecomCode] === undefined ? DIRECTORY_API_CODES[wecomCode] : undefined;
    if (extra) {
      const said = errmsg ? ` (WeCom said: ${errmsg.slice(0, 200)})` : '';
      this.message = `${operation} failed with WeCom errcode ${wecomCode}: ${extra.meaning}${said}. ${extra.action}`;
    }
  }
}

/** A secret the API needs is not configured for the corp. A configuration problem: retrying does not help. */
export class ApiSecretMissingError extends ArchiveError {
  constructor(corpid: string, kind: 'contacts' | 'customer' | 'login') {
    const message =
      kind === 'login'
        ? `corp ${corpid} has no app to sign in with WeCom; set one with \`wecom-archive corp login-app --corp ${corpid} --agentid N --secret-file PATH --public-url URL\``
        : `the ${kind === 'contacts' ? 'contacts (通讯录同步) secret' : 'customer contact (客户联系) secret'} of corp ${corpid} is not set, so this part of the directory cannot be synced; set it with \`wecom-archive corp secrets --corp ${corpid} --${kind}-secret S\``;
    super('API_SECRET_MISSING', message, { kind: 'invalid', httpStatus: 409 });
  }
}

/** WeCom answered errcode 0 but a field is missing or has the wrong type. */
export class ApiResponseError extends ArchiveError {
  constructor(operation: string, what: string) {
    super('WECOM_API_BAD_RESPONSE', `${operation}: WeCom's answer is not as documented: ${what}`, { httpStatus: 502 });
  }
}
