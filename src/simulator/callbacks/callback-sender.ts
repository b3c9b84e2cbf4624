/**
 * Sends callbacks the way WeCom does: the event XML encrypted with the app's
 * EncodingAESKey for the corpid (receiveid), signed with its Token over timestamp, nonce and
 * ciphertext, POSTed to `{target}/{corpid}/{app}` with msg_signature, timestamp and nonce in the
 * query; and the URL verification GET with an encrypted echostr.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { callbackSignature, encryptCallbackMessage, parseEncodingAesKey } from '../../callbacks/callback-crypto.ts';

/** One app's "API receive" settings, as set in the admin console (and in the archive). */
export interface CallbackAppSecrets {
  readonly app: string;
  readonly token: string;
  readonly encodingAesKey: string;
}

export interface Delivery {
  app: string;
  status: number;
  body: string;
  /** round trip in ms */
  ms: number;
}

export interface SignedCallback {
  /** the query string (already encoded) */
  query: string;
  body: string;
}

/** The POST a WeCom server would send for `xml`. `timestamp` in seconds. */
export function signedCallbackPost(corpid: string, app: CallbackAppSecrets, xml: string, timestamp: number, nonce = String(randomInt(1e9, 1e10))): SignedCallback {
  const encrypted = encryptCallbackMessage(parseEncodingAesKey(app.encodingAesKey), xml, corpid);
  const ts = String(Math.floor(timestamp));
  const signature = callbackSignature(app.token, ts, nonce, encrypted);
  return {
    query: `msg_signature=${signature}&timestamp=${ts}&nonce=${encodeURIComponent(nonce)}`,
    body: `<xml><ToUserName><![CDATA[${corpid}]]></ToUserName><Encrypt><![CDATA[${encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>`,
  };
}

/** The URL-verification GET: returns the query and the plaintext the endpoint must echo. */
export function signedVerification(corpid: string, app: CallbackAppSecrets, timestamp: number): { query: string; echo: string } {
  const echo = randomBytes(8).readBigUInt64BE(0).toString();
  const encrypted = encryptCallbackMessage(parseEncodingAesKey(app.encodingAesKey), echo, corpid);
  const ts = String(Math.floor(timestamp));
  const nonce = String(randomInt(1e9, 1e10));
  const signature = callbackSignature(app.token, ts, nonce, encrypted);
  return { query: `msg_signature=${signature}&timestamp=${ts}&nonce=${nonce}&echostr=${encodeURIComponent(encrypted)}`, echo };
}

/** `{target}/{corpid}/{app}`; target is e.g. http://127.0.0.1:8080/callback */
export function callbackUrl(target: string, corpid: string, app: string): string {
  return `${target.replace(/\/+$/, '')}/${encodeURIComponent(corpid)}/${encodeURIComponent(app)}`;
}

/** One HTTP exchange; WeCom waits 5 s for an answer. */
export function httpExchange(method: 'GET' | 'POST', url: string, body: string | undefined, timeoutMs = 5_000): Promise<{ status: number; body: string }> {
  const parsed = new URL(url);
  const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
  return new Promise((resolve, reject) => {
    const req = (parsed.protocol === 'https:' ? httpsRequest : request)(
      parsed,
      {
        method,
        headers: payload ? { 'content-type': 'text/xml; charset=utf-8', 'content-length': payload.length } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Encrypts, signs and POSTs one event; resolves with the endpoint's answer. */
export async function deliverCallback(target: string, corpid: string, app: CallbackAppSecrets, xml: string, timestampS: number): Promise<Delivery> {
  const signed = signedCallbackPost(corpid, app, xml, timestampS);
  const started = performance.now();
  const answer = await httpExchange('POST', `${callbackUrl(target, corpid, app.app)}?${signed.query}`, signed.body);
  return { app: app.app, status: answer.status, body: answer.body, ms: performance.now() - started };
}

/** Builds a decrypted event: common header plus body elements (numbers bare, text in CDATA, arrays as Items). */
export function eventXml(
  corpid: string,
  createTimeS: number,
  event: string,
  changeType: string | null,
  body: Record<string, string | number | readonly string[] | undefined> = {},
): string {
  const cdata = (v: string) => `<![CDATA[${v.replace(/]]>/g, ']]]]><![CDATA[>')}]]>`;
  const el = (name: string, v: string | number | readonly string[]): string => {
    if (typeof v === 'number') return `<${name}>${v}</${name}>`;
    if (typeof v === 'string') return `<${name}>${cdata(v)}</${name}>`;
    return `<${name}>${v.map((item) => `<Item>${cdata(item)}</Item>`).join('')}</${name}>`;
  };
  return (
    `<xml>${el('ToUserName', corpid)}${el('FromUserName', 'sys')}${el('CreateTime', Math.floor(createTimeS))}${el('MsgType', 'event')}${el('Event', event)}` +
    (changeType === null ? '' : el('ChangeType', changeType)) +
    Object.entries(body)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => el(k, v!))
      .join('') +
    '</xml>'
  );
}
