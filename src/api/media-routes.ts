/**
 * `GET /api/corps/:corpid/media/:sha256`: a stored media file, to a caller whose scope holds a message
 * that references it (checked in the SQL that finds it, src/reading/media-files.ts); an unknown file
 * and one out of scope get the same 404. `variant=thumb` is a small WebP of an image, made once and
 * kept in the media store beside the original; `variant=mp3` is a voice's playable copy.
 *
 * The bytes are hostile: only a short list of types is served as itself, everything else (HTML and
 * SVG included) as an octet-stream attachment, never sniffed. Every answer with content writes one
 * audit row before the body is sent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { AuditEntry, Caller } from '../access/caller.ts';
import { ArchiveError } from '../errors/errors.ts';
import { type ByteRange, derivedKey, type MediaStore } from '../media/storage/media-store.ts';
import { mediaNotFound, type VisibleMedia, visibleMedia } from '../reading/media-files.ts';
import type { Store } from '../store/open-store.ts';
import type { AccessServices, ApiInstance } from './api-types.ts';
import { errorAnswers, FILE_BYTES } from './answer-schemas.ts';

/** Longest side of a thumbnail, in pixels. */
export const THUMB_MAX_PX = 320;
/** Images larger than this get no thumbnail (it is made in memory). */
const THUMB_MAX_INPUT_BYTES = 50 * 1024 * 1024;
/** Nor images of more pixels: a small file can claim a huge picture, and it is decoded in memory. */
const THUMB_MAX_INPUT_PIXELS = 40_000_000;
/** A voice's MP3 copy is read whole to answer ranges; copies are a few MB at most. */
const MP3_MAX_BYTES = 64 * 1024 * 1024;

export interface MediaRouteDeps {
  readonly store: MediaStore;
  /** local scratch directory: a thumbnail is written here before it is put into the store */
  readonly scratchDir: string;
  /** makes a thumbnail of an image's bytes (default: sharp); tests count its calls */
  readonly thumbnail?: (image: Buffer) => Promise<Buffer>;
}

/** A WebP of at most THUMB_MAX_PX on its longest side, turned upright by its EXIF orientation; never enlarged. */
export async function makeThumbnail(image: Buffer): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  return sharp(image, { failOn: 'error', animated: false, limitInputPixels: THUMB_MAX_INPUT_PIXELS })
    .rotate()
    .resize(THUMB_MAX_PX, THUMB_MAX_PX, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 75 })
    .toBuffer();
}

/**
 * Types served as themselves (the value is how). Audio WeCom records as SILK no browser plays, and
 * `application/x-ole-storage` may be anything from a .doc to an .msi: both are octet-streams.
 */
const SAFE_TYPES: Record<string, { type: string; inline: boolean }> = {
  'image/jpeg': { type: 'image/jpeg', inline: true },
  'image/png': { type: 'image/png', inline: true },
  'image/gif': { type: 'image/gif', inline: true },
  'image/webp': { type: 'image/webp', inline: true },
  'audio/amr': { type: 'audio/amr', inline: true },
  'audio/amr-wb': { type: 'audio/amr-wb', inline: true },
  'audio/mpeg': { type: 'audio/mpeg', inline: true },
  'video/mp4': { type: 'video/mp4', inline: true },
  'application/pdf': { type: 'application/pdf', inline: true },
  'text/plain': { type: 'text/plain; charset=utf-8', inline: true },
  'application/msword': { type: 'application/msword', inline: false },
  'application/vnd.ms-excel': { type: 'application/vnd.ms-excel', inline: false },
  'application/vnd.ms-powerpoint': { type: 'application/vnd.ms-powerpoint', inline: false },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': { type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', inline: false },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', inline: false },
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': { type: 'application/vnd.openxmlformats-officedocument.presentationml.presentation', inline: false },
  'application/zip': { type: 'application/zip', inline: false },
};
const UNSAFE = { type: 'application/octet-stream', inline: false };

/** How a stored content type is served: the safe list's entry, or an octet-stream attachment. */
export function servedType(contentType: string | null): { type: string; inline: boolean } {
  const bare = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return Object.hasOwn(SAFE_TYPES, bare) ? SAFE_TYPES[bare]! : UNSAFE;
}

/**
 * `Content-Disposition` with the message's file name: RFC 5987 `filename*` for the real name (Chinese
 * names included) and a plain ASCII `filename` for old clients. Control characters, quotes, slashes
 * and backslashes never reach the header.
 */
export function contentDisposition(inline: boolean, fileName: string): string {
  const clean = fileName.replace(/[\u0000-\u001f\u007f"\\/]/g, '_').slice(0, 200) || 'file';
  const ascii = clean.replace(/[^\x20-\x7e]/g, '_');
  const encoded = encodeURIComponent(clean).replace(/['()*!]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/**
 * The one range of a `Range` header over `size` bytes: a range, 'unsatisfiable', or undefined for
 * the whole file (no header, several ranges, or one this parser does not take, which HTTP allows to ignore).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

async function readAll(source: Readable, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) {
      source.destroy();
      throw mediaNotFound();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function userAgent(request: FastifyRequest): string {
  return (request.headers['user-agent'] ?? '').replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 300);
}

function auditEntry(request: FastifyRequest, caller: Caller, corpid: string, media: VisibleMedia, variant: string | undefined): AuditEntry {
  return {
    userId: caller.userId,
    username: caller.username,
    role: caller.role,
    action: 'media.read',
    corpid,
    conversation: media.conversation,
    query: { sha256: media.sha256, msgid: media.msgid, ...(variant ? { variant } : {}) },
    items: 1,
    reason: request.accessReason,
    ip: request.ip,
    userAgent: userAgent(request),
    requestId: request.id,
  };
}

/** What one answer serves: the bytes (whole, or a stream of them), their size, type, name and tag. */
interface Body {
  size: number;
  bytes: Buffer | ((range: ByteRange | undefined) => Promise<Readable>);
  type: { type: string; inline: boolean };
  fileName: string;
  etag: string;
}

function baseName(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

export function mediaRoutes(store: Store, access: AccessServices | undefined, deps: MediaRouteDeps) {
  const thumbnail = deps.thumbnail ?? makeThumbnail;

  // thumbnails being made, by image: requests for the same one at once wait for one sharp call
  const making = new Map<string, Promise<Buffer>>();

  /** The cached thumbnail, or one made now and put into the store for the next request. */
  async function thumbOf(media: VisibleMedia): Promise<Buffer> {
    const key = derivedKey(media.sha256, 'thumb');
    if (await deps.store.has(key)) return readAll(await deps.store.read(key), THUMB_MAX_INPUT_BYTES);
    const running = making.get(media.sha256);
    if (running) return running;
    const made = makeAndKeep(media, key);
    making.set(media.sha256, made);
    try {
      return await made;
    } finally {
      making.delete(media.sha256);
    }
  }

  async function makeAndKeep(media: VisibleMedia, key: string): Promise<Buffer> {
    if (media.size > THUMB_MAX_INPUT_BYTES) throw mediaNotFound();
    let thumb: Buffer;
    try {
      thumb = await thumbnail(await readAll(await deps.store.read(media.storageKey), THUMB_MAX_INPUT_BYTES));
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      throw new ArchiveError('MEDIA_THUMBNAIL_FAILED', 'the stored image could not be read as an image', { kind: 'invalid', httpStatus: 422, cause: err });
    }
    await mkdir(deps.scratchDir, { recursive: true, mode: 0o700 });
    const file = join(deps.scratchDir, `thumb-${randomBytes(8).toString('hex')}`);
    try {
      await writeFile(file, thumb, { mode: 0o600 });
      await deps.store.putFile(key, file, { size: thumb.length, sha256: createHash('sha256').update(thumb).digest('hex'), contentType: 'image/webp' });
    } finally {
      await rm(file, { force: true });
    }
    return thumb;
  }

  async function bodyOf(media: VisibleMedia, variant: 'thumb' | 'mp3' | undefined): Promise<Body> {
    const name = media.fileName ?? media.sha256;
    if (variant === 'thumb') {
      if (!servedType(media.contentType).type.startsWith('image/')) throw mediaNotFound();
      const bytes = await thumbOf(media);
      return { size: bytes.length, bytes, type: { type: 'image/webp', inline: true }, fileName: `${baseName(name)}.webp`, etag: `"${media.sha256}-thumb"` };
    }
    if (variant === 'mp3') {
      if (media.mp3Key === null) throw mediaNotFound();
      const bytes = await readAll(await deps.store.read(media.mp3Key), MP3_MAX_BYTES);
      return { size: bytes.length, bytes, type: { type: 'audio/mpeg', inline: true }, fileName: `${baseName(name)}.mp3`, etag: `"${media.sha256}-mp3"` };
    }
    // a range is read from the store as a range: seeking near the end of a long video reads only that part
    return { size: media.size, bytes: (range) => deps.store.read(media.storageKey, range), type: servedType(media.contentType), fileName: name, etag: `"${media.sha256}"` };
  }

  async function send(request: FastifyRequest, reply: FastifyReply, body: Body): Promise<FastifyReply> {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('etag', body.etag);
    reply.header('accept-ranges', 'bytes');
    // revalidated every time (a 304 is cheap), so a scope withdrawn is a scope withdrawn
    reply.header('cache-control', 'private, no-cache');
    reply.header('content-disposition', contentDisposition(body.type.inline, body.fileName));
    reply.type(body.type.type);
    if (request.headers['if-none-match'] === body.etag) return reply.code(304).send();
    const range = parseRange(request.headers.range, body.size);
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${body.size}`);
      reply.removeHeader('content-disposition');
      return reply
        .code(416)
        .type('application/json; charset=utf-8')
        .send({ error: 'MEDIA_RANGE_UNSATISFIABLE', message: `the range lies outside the file's ${body.size} bytes` });
    }
    if (range) {
      reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${body.size}`);
      reply.header('content-length', range.end - range.start + 1);
    } else {
      reply.header('content-length', body.size);
    }
    if (Buffer.isBuffer(body.bytes)) return reply.send(range ? body.bytes.subarray(range.start, range.end + 1) : body.bytes);
    return reply.send(await body.bytes(range));
  }

  return (api: ApiInstance): void => {
    api.get(
      '/api/corps/:corpid/media/:sha256',
      {
        config: { access: 'signed-in', needsReason: true },
        schema: {
          summary: 'A stored media file (or its thumbnail or MP3 copy), when a message the caller may read references it; single byte ranges',
          tags: ['media'],
          params: Type.Object({
            corpid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
            sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          }),
          querystring: Type.Object({ variant: Type.Optional(Type.Union([Type.Literal('thumb'), Type.Literal('mp3')])) }, { additionalProperties: false }),
          response: { 200: FILE_BYTES, 206: FILE_BYTES, 304: Type.Null({ description: 'not modified (If-None-Match)' }), ...errorAnswers(400, 401, 404, 416, 422, 428, 500, 503) },
        },
      },
      async (request, reply) => {
        if (!access) throw new ArchiveError('ACCOUNTS_UNAVAILABLE', 'this process has no accounts store', { httpStatus: 503 });
        const caller = request.caller!;
        const { corpid, sha256 } = request.params;
        const variant = request.query.variant;
        const media = await visibleMedia(store.db, caller.scope, corpid, sha256);
        const body = await bodyOf(media, variant);
        await access.audit.record(auditEntry(request, caller, corpid, media, variant));
        return send(request, reply, body);
      },
    );
  };
}
