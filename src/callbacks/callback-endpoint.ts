/**
 * `/callback/{corpid}/{app}`: WeCom's URL verification (GET: answer the decrypted echostr, exactly)
 * and event delivery (POST: the encrypted event in XML). Everything from outside is checked here,
 * at the edge, before anything is stored: source address (when enforced), the query parameters, the
 * body's size and XML (no DTD, no entities, only characters XML allows), the configuration exists
 * and the signature (constant time; an unknown corp or app gets the very answer of a wrong
 * signature), the timestamp's age, decryption, the decrypted event's XML and the receiveid. A
 * request failing any check gets a 4xx and changes nothing. An accepted event is stored in the
 * inbox before the reply (so a crash after the reply loses nothing), and a retried delivery is
 * acknowledged again without being stored twice.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../app/logger.ts';
import { ArchiveError, type ErrorCode, ValidationError } from '../errors/errors.ts';
import type { CallbackAppRegistry } from './callback-apps.ts';
import { CallbackCryptoError, decryptCallbackMessage, verifyCallbackSignature } from './callback-crypto.ts';
import { CallbackEventError, callbackEventFromXml, type CallbackEvent } from './callback-events.ts';
import type { CallbackInbox } from './callback-inbox.ts';
import { parseCallbackQuery } from './callback-query.ts';
import type { CallbackSourceGuard } from './callback-source-guard.ts';
import { CallbackXmlError, parseCallbackXml } from './callback-xml.ts';

/** WeCom events are a few hundred bytes; this leaves room and bounds the work on hostile input. */
export const CALLBACK_BODY_LIMIT = 64 * 1024;

export interface CallbackRequest {
  method: string;
  corpid: string;
  app: string;
  /** the query string as it arrived, without `?` */
  rawQuery: string;
  body: Buffer;
  /** the client's address (after trusted-proxy handling) */
  remoteAddr: string;
}

export interface CallbackResponse {
  status: number;
  contentType: string;
  body: string;
}

export interface CallbackEndpointDeps {
  apps: CallbackAppRegistry;
  inbox: CallbackInbox;
  guard: CallbackSourceGuard;
  /** seconds; 0 turns the timestamp check off */
  maxAgeS: number;
  log: Logger;
  now(): number;
  /** an event was stored: wake the workers */
  onStored(corpid: string, kind: string): void;
}

/**
 * A refusal: the status and a short code; the message never carries secrets or decrypted content.
 * `logDetail` is for this server's log only, where it says more than the answer may.
 */
class Refusal extends ArchiveError {
  constructor(
    status: number,
    code: ErrorCode,
    message: string,
    readonly logDetail?: string,
  ) {
    super(code, message, { httpStatus: status });
  }
}

const badSignature = (logDetail?: string) => new Refusal(403, 'CALLBACK_BAD_SIGNATURE', 'msg_signature does not match: check the Token of this callback configuration', logDetail);

/** Signs with this when no configuration exists at the URL, so that answer costs what a wrong signature costs. */
const NO_TOKEN = 'no-callback-configuration-at-this-url';

const SIGNATURE = /^[0-9a-fA-F]{40}$/;
const TIMESTAMP = /^\d{1,12}$/;
const NONCE = /^[\x21-\x7e]{1,128}$/;

const text = (status: number, body: string): CallbackResponse => ({ status, contentType: 'text/plain; charset=utf-8', body });
const json = (status: number, code: string, message: string): CallbackResponse => ({
  status,
  contentType: 'application/json; charset=utf-8',
  body: JSON.stringify({ error: code, message }),
});

/** Handles one callback request; never throws (every failure becomes a response). */
export async function handleCallback(deps: CallbackEndpointDeps, req: CallbackRequest): Promise<CallbackResponse> {
  try {
    return await handle(deps, req);
  } catch (err) {
    const status = err instanceof ArchiveError ? err.httpStatus : 500;
    const code = err instanceof ArchiveError ? err.code : 'INTERNAL';
    const fields = { stage: 'callbacks', corp: req.corpid.slice(0, 64), app: req.app.slice(0, 64), remote: req.remoteAddr, code, status };
    if (status >= 500) {
      deps.log.error({ ...fields, err: (err as Error).message }, 'callback could not be stored; WeCom will retry');
      return json(500, code, 'the callback could not be stored; it will be retried');
    }
    deps.log.warn(fields, `callback refused: ${err instanceof Refusal && err.logDetail ? err.logDetail : (err as Error).message}`);
    return json(status, code, (err as Error).message);
  }
}

async function handle(deps: CallbackEndpointDeps, req: CallbackRequest): Promise<CallbackResponse> {
  if (req.method !== 'GET' && req.method !== 'POST') throw new Refusal(405, 'METHOD_NOT_ALLOWED', 'callbacks are GET (URL verification) or POST (events)');
  if (!(await deps.guard.allowed(req.remoteAddr))) {
    throw new Refusal(
      403,
      'CALLBACK_SOURCE_UNTRUSTED',
      `${req.remoteAddr} is not in WeCom's callback IP list (getcallbackip); if a reverse proxy sits in front, set WECOM_ARCHIVE_TRUSTED_PROXIES`,
    );
  }
  let query: Map<string, string>;
  try {
    query = parseCallbackQuery(req.rawQuery);
  } catch (err) {
    throw new Refusal(400, 'CALLBACK_QUERY_INVALID', (err as Error).message);
  }
  const signature = query.get('msg_signature') ?? '';
  const timestamp = query.get('timestamp') ?? '';
  const nonce = query.get('nonce') ?? '';
  if (!SIGNATURE.test(signature) || !TIMESTAMP.test(timestamp) || !NONCE.test(nonce)) {
    throw new Refusal(400, 'CALLBACK_QUERY_INVALID', 'msg_signature (40 hex digits), timestamp (seconds) and nonce are required');
  }

  let encrypted: string;
  if (req.method === 'GET') {
    encrypted = query.get('echostr') ?? '';
    if (encrypted === '' || encrypted.length > 4096) throw new Refusal(400, 'CALLBACK_QUERY_INVALID', 'URL verification needs echostr');
  } else {
    encrypted = outerEncrypt(req.body);
  }

  // An unknown corp or app is answered exactly as a wrong signature, and only here, after every
  // check that does not depend on the configuration: the answers must not tell which names exist.
  const app = await deps.apps.find(req.corpid, req.app);
  const signed = verifyCallbackSignature(app?.token ?? NO_TOKEN, timestamp, nonce, encrypted, signature.toLowerCase());
  if (!app) throw badSignature('no callback configuration at this URL; add one with `wecom-archive corp callback add`');
  if (!signed) throw badSignature();
  if (deps.maxAgeS > 0) {
    const age = Math.abs(deps.now() / 1000 - Number(timestamp));
    if (age > deps.maxAgeS) {
      throw new Refusal(
        403,
        'CALLBACK_STALE',
        `the timestamp is ${Math.round(age)} s away from this server's clock (more than WECOM_ARCHIVE_CALLBACK_MAX_AGE_S=${deps.maxAgeS}): a replay, or a wrong clock here`,
      );
    }
  }

  let message: string;
  try {
    message = decryptCallbackMessage(app.aesKey, encrypted, app.receiveId).message;
  } catch (err) {
    if (err instanceof CallbackCryptoError || err instanceof ValidationError) throw new Refusal(400, err.code, err.message);
    throw err;
  }

  if (req.method === 'GET') return text(200, message);
  return storeEvent(deps, req, message);
}

/** The outer POST body: `<xml><ToUserName/><Encrypt/><AgentID/></xml>`; only Encrypt matters. */
function outerEncrypt(body: Buffer): string {
  if (body.length === 0) throw new Refusal(400, 'CALLBACK_BODY_INVALID', 'the POST body is empty');
  if (body.length > CALLBACK_BODY_LIMIT) throw new Refusal(413, 'CALLBACK_BODY_TOO_LARGE', `the POST body is larger than ${CALLBACK_BODY_LIMIT} bytes`);
  let bodyText: string;
  try {
    bodyText = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new Refusal(400, 'CALLBACK_BODY_INVALID', 'the POST body is not UTF-8');
  }
  let root;
  try {
    root = parseCallbackXml(bodyText, { maxBytes: CALLBACK_BODY_LIMIT });
  } catch (err) {
    if (err instanceof CallbackXmlError) throw new Refusal(400, err.code, err.message);
    throw err;
  }
  const encrypt = root.Encrypt;
  // Say what is wrong: a second Encrypt (which one was signed?) or one with elements inside is not
  // the same mistake as a missing one.
  if (encrypt === undefined) throw new Refusal(400, 'CALLBACK_BODY_INVALID', 'the POST body has no Encrypt element');
  if (Array.isArray(encrypt)) throw new Refusal(400, 'CALLBACK_BODY_INVALID', `the POST body has ${encrypt.length} Encrypt elements; WeCom sends exactly one`);
  if (typeof encrypt !== 'string') throw new Refusal(400, 'CALLBACK_BODY_INVALID', 'the Encrypt element of the POST body holds elements instead of the ciphertext');
  if (encrypt.trim() === '') throw new Refusal(400, 'CALLBACK_BODY_INVALID', 'the Encrypt element of the POST body is empty');
  return encrypt.trim();
}

async function storeEvent(deps: CallbackEndpointDeps, req: CallbackRequest, message: string): Promise<CallbackResponse> {
  let root;
  try {
    root = parseCallbackXml(message, { maxBytes: CALLBACK_BODY_LIMIT });
  } catch (err) {
    // Signed by the token holder but hostile or broken XML (a DTD, an entity): refuse, store nothing.
    if (err instanceof CallbackXmlError) throw new Refusal(400, err.code, `the decrypted event: ${err.message}`);
    throw err;
  }
  let event: CallbackEvent | undefined;
  let invalid: string | undefined;
  try {
    event = callbackEventFromXml(root);
  } catch (err) {
    // Authentic (signed, decrypted, receiveid right) but not as documented: kept as failed, for a
    // person to look at, rather than refused (WeCom would retry it forever).
    if (!(err instanceof CallbackEventError)) throw err;
    invalid = err.message;
  }
  const lenient = (name: string): string | null => (typeof root[name] === 'string' ? (root[name] as string).trim().slice(0, 64) : null);
  const createTime = event && event.kind !== 'unknown' ? event.createTime : null;
  const kind = event?.kind ?? 'invalid';
  const stored = await deps.inbox.store({
    corpid: req.corpid,
    app: req.app,
    dedupKey: createHash('sha256').update(message, 'utf8').digest('hex'),
    kind,
    event: lenient('Event'),
    changeType: lenient('ChangeType'),
    body: message,
    remoteAddr: req.remoteAddr,
    eventTime: createTime === null ? null : createTime * 1000,
    state: kind === 'unknown' ? 'ignored' : kind === 'invalid' ? 'failed' : 'pending',
    lastError: invalid ?? null,
  });
  if (!stored.duplicate && kind !== 'unknown' && kind !== 'invalid') deps.onStored(req.corpid, kind);
  deps.log.debug(
    { stage: 'callbacks', corp: req.corpid, app: req.app, job: stored.id, kind, duplicate: stored.duplicate },
    stored.duplicate
      ? 'callback event stored before (a retried delivery): acknowledged again'
      : `callback event stored as ${kind === 'unknown' ? 'ignored' : kind === 'invalid' ? 'failed' : 'pending'}`,
  );
  if (invalid) deps.log.warn({ stage: 'callbacks', corp: req.corpid, app: req.app, job: stored.id }, `callback event stored as failed: ${invalid}`);
  return text(200, 'success');
}
