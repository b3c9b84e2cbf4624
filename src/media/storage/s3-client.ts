/**
 * A minimal S3 client (PUT, GET, HEAD of one object) with AWS Signature Version 4, over node:http
 * and node:https: enough for a content-addressed media store in any S3-compatible bucket (AWS S3,
 * MinIO, Ceph, R2, s3rver in tests) without the weight of the AWS SDK. Path-style addressing
 * (`endpoint/bucket/key`), which every S3-compatible server accepts.
 *
 * Uploads are signed with the payload's real SHA-256 (the caller knows it: the store is
 * content-addressed), so the server can reject a body damaged on the way.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { ArchiveError } from '../../errors/errors.ts';
import { type ByteRange, sliceStream } from './media-store.ts';

export interface S3Settings {
  /** e.g. http://127.0.0.1:9000 or https://s3.eu-west-1.amazonaws.com */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  /** never logged */
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** An S3 request failed; `status` and the S3 error `s3Code` (NoSuchBucket, AccessDenied …) are kept. */
export class S3Error extends ArchiveError {
  constructor(
    readonly status: number,
    readonly s3Code: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super('MEDIA_STORE_S3', message, { ...options, httpStatus: 502 });
  }
}

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const REQUEST_TIMEOUT_MS = 120_000;

/** RFC 3986 encoding as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
function uriEncode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

export interface S3Response {
  status: number;
  headers: IncomingMessage['headers'];
  /** the body, for GET; already drained for other methods */
  body: IncomingMessage;
}

export class S3Client {
  private readonly base: URL;
  private readonly agent: HttpAgent;
  private readonly https: boolean;

  constructor(
    private readonly settings: S3Settings,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.base = new URL(settings.endpoint);
    this.https = this.base.protocol === 'https:';
    this.agent = new (this.https ? HttpsAgent : HttpAgent)({ keepAlive: true, maxSockets: 16 });
  }

  /** The path of an object, URI-encoded segment by segment. */
  private pathOf(key: string): string {
    const prefix = this.base.pathname.replace(/\/$/, '');
    return `${prefix}/${uriEncode(this.settings.bucket)}/${key.split('/').map(uriEncode).join('/')}`;
  }

  /** SigV4 headers for one request (Authorization, x-amz-date, x-amz-content-sha256). */
  signedHeaders(method: string, path: string, payloadSha256: string, extra: Record<string, string>): Record<string, string> {
    const now = this.clock();
    const amzDate = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const headers: Record<string, string> = {
      ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.toLowerCase(), v])),
      host: this.base.host,
      'x-amz-date': amzDate,
      'x-amz-content-sha256': payloadSha256,
    };
    if (this.settings.sessionToken) headers['x-amz-security-token'] = this.settings.sessionToken;
    const names = Object.keys(headers).sort();
    const canonical = [method, path, '', ...names.map((n) => `${n}:${String(headers[n]).trim().replace(/\s+/g, ' ')}`), '', names.join(';'), payloadSha256].join('\n');
    const scope = `${day}/${this.settings.region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
    let key: Buffer = hmac(`AWS4${this.settings.secretAccessKey}`, day);
    for (const part of [this.settings.region, 's3', 'aws4_request']) key = hmac(key, part);
    const signature = createHmac('sha256', key).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${this.settings.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    return headers;
  }

  private send(
    method: 'GET' | 'HEAD' | 'PUT',
    key: string,
    body?: { stream: Readable; size: number; sha256: string; contentType: string },
    more: Record<string, string> = {},
  ): Promise<S3Response> {
    const path = this.pathOf(key);
    const extra: Record<string, string> = body ? { ...more, 'content-length': String(body.size), 'content-type': body.contentType } : { ...more };
    const headers = this.signedHeaders(method, path, body ? body.sha256 : EMPTY_SHA256, extra);
    return new Promise((resolve, reject) => {
      const req = (this.https ? httpsRequest : httpRequest)({
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port,
        path,
        method,
        headers,
        agent: this.agent,
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', (err: NodeJS.ErrnoException) => reject(new S3Error(0, 'NetworkError', `S3 ${method} ${this.where(key)} failed: ${err.code ?? err.message}`, { cause: err })));
      req.on('response', (res) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res }));
      if (body) {
        body.stream.on('error', (err) => req.destroy(err));
        body.stream.pipe(req);
      } else req.end();
    });
  }

  private where(key: string): string {
    return `${this.base.host}/${this.settings.bucket}/${key}`;
  }

  private async fail(method: string, key: string, res: S3Response): Promise<never> {
    let text = '';
    for await (const chunk of res.body) {
      if (text.length < 65536) text += (chunk as Buffer).toString('utf8');
    }
    const code = /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1] ?? `HTTP${res.status}`;
    const said = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
    throw new S3Error(res.status, code, `S3 ${method} ${this.where(key)} answered ${res.status} ${code}${said ? `: ${said}` : ''}`);
  }

  /** Object size, or undefined when there is no such object. */
  async head(key: string): Promise<number | undefined> {
    const res = await this.send('HEAD', key);
    res.body.resume();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new S3Error(res.status, `HTTP${res.status}`, `S3 HEAD ${this.where(key)} answered ${res.status}`);
    return Number(res.headers['content-length'] ?? NaN);
  }

  async put(key: string, body: { stream: Readable; size: number; sha256: string; contentType: string }): Promise<void> {
    const res = await this.send('PUT', key, body);
    if (res.status !== 200) await this.fail('PUT', key, res);
    res.body.resume();
  }

  /** The object, or with `range` its bytes `start`…`end` (a server that ignores Range sends it whole, and it is cut here). */
  async get(key: string, range?: ByteRange): Promise<Readable> {
    const res = await this.send('GET', key, undefined, range ? { range: `bytes=${range.start}-${range.end}` } : {});
    if (range && res.status === 206) return res.body;
    if (res.status !== 200) await this.fail('GET', key, res);
    return range ? sliceStream(res.body, range) : res.body;
  }

  close(): void {
    this.agent.destroy();
  }
}
