/**
 * GET /api/corps/:corpid/media/:sha256 through Fastify's inject, over a local media store: ranges,
 * names, the safe list of types, thumbnails made once, the MP3 copy, the audit row, and the scope
 * check in the SQL that finds the file (every dialect); the rest on SQLite alone.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EVERYTHING, NOTHING, type ReadScope } from '../../src/access/read-scope.ts';
import type { Caller } from '../../src/access/caller.ts';
import type { ApiInstance } from '../../src/api/api-types.ts';
import { buildApi } from '../../src/api/build-api.ts';
import { makeThumbnail } from '../../src/api/media-routes.ts';
import { createLogger } from '../../src/app/logger.ts';
import { createLocalMediaStore } from '../../src/media/storage/local-media-store.ts';
import { derivedKey, type MediaStore, objectKey } from '../../src/media/storage/media-store.ts';
import type { Store } from '../../src/store/open-store.ts';
import type { MediaKind } from '../../src/store/vocabulary.ts';
import { appWithEnv } from '../callbacks/harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { FakeAuthenticator, MemoryAuditTrail } from '../support/fake-access.ts';
import { downloaded, mediaRow } from '../support/media-rows.ts';
import { messageRow } from '../support/message-rows.ts';

const CORP = 'wwmediaroute0001';
const SEEN = 'pair:alice|bob';
const HIDDEN = 'pair:alice|carol';

interface StoredFile {
  sha256: string;
  bytes: Buffer;
}

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** A file in the media store and its media row on message `msgid` of `conversation`. */
async function storeFile(
  store: Store,
  media: MediaStore,
  dir: string,
  msgid: string,
  conversation: string,
  bytes: Buffer,
  row: { kind: MediaKind; contentType: string; fileName: string | null; mp3?: Buffer },
): Promise<StoredFile> {
  const sha256 = sha(bytes);
  const put = async (key: string, data: Buffer, contentType: string) => {
    const file = join(dir, `in-${msgid}-${data.length}`);
    await writeFile(file, data);
    await media.putFile(key, file, { size: data.length, sha256: sha(data), contentType });
  };
  await put(objectKey(sha256), bytes, row.contentType);
  if (row.mp3) await put(derivedKey(sha256, 'mp3'), row.mp3, 'audio/mpeg');
  const seq = BigInt(Number.parseInt(sha256.slice(0, 8), 16));
  await store.db
    .insertInto('messages')
    .values({ ...messageRow({ corpid: CORP, msgid, seq, msgtype: row.kind }), conversation_key: conversation })
    .execute();
  await store.db
    .insertInto('media')
    .values(
      mediaRow(CORP, msgid, row.kind, 1, {
        file_name: row.fileName,
        ...downloaded(bytes, row.contentType, 1),
        voice_format: row.kind === 'voice' ? 'silk' : null,
        converted_key: row.mp3 ? derivedKey(sha256, 'mp3') : null,
        converted_type: row.mp3 ? 'audio/mpeg' : null,
      }),
    )
    .execute();
  return { sha256, bytes };
}

async function addConversations(store: Store): Promise<void> {
  for (const key of [SEEN, HIDDEN]) {
    await store.db
      .insertInto('conversations')
      .values({ corpid: CORP, conversation_key: key, kind: 'single', roomid: '', message_count: 1, first_msgtime: 1, last_msgtime: 1, last_seq: '1', last_msgid: 'x' })
      .execute();
  }
}

function caller(userId: number, username: string, role: Caller['role'], scope: ReadScope): Caller {
  return { userId, username, role, scope, mayExport: false, via: 'token', credentialId: userId };
}

const viewerOf = (conversation: string): ReadScope => ({ kind: 'limited', corps: [], departments: [], conversations: [{ corpid: CORP, conversation }] });

interface Harness {
  api: ApiInstance;
  audit: MemoryAuditTrail;
  media: MediaStore;
  root: string;
  thumbCalls: { count: number };
  get(url: string, token: string | undefined, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
}

async function harness(store: Store, root: string): Promise<Harness> {
  const auth = new FakeAuthenticator([]);
  auth.tokens.set('admin-token', caller(1, 'root', 'admin', EVERYTHING));
  auth.tokens.set('viewer-token', caller(2, 'vera', 'viewer', viewerOf(SEEN)));
  auth.tokens.set('other-viewer-token', caller(3, 'otto', 'viewer', viewerOf(HIDDEN)));
  auth.tokens.set('no-grant-token', caller(4, 'nina', 'viewer', NOTHING));
  const audit = new MemoryAuditTrail();
  const media = createLocalMediaStore(join(root, 'store'));
  const thumbCalls = { count: 0 };
  const thumbnail = async (image: Buffer) => {
    thumbCalls.count++;
    return makeThumbnail(image);
  };
  const api = await buildApi(appWithEnv(store), createLogger('silent'), {
    access: { authenticator: auth, audit },
    media: { store: media, scratchDir: join(root, 'scratch'), thumbnail },
  });
  const get = (url: string, token: string | undefined, headers: Record<string, string> = {}) =>
    api.inject({ method: 'GET', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { api, audit, media, root, thumbCalls, get };
}

const url = (sha256: string, query = '') => `/api/corps/${CORP}/media/${sha256}${query}`;

describeEachDialect('GET media', ({ dialect, open }) => {
  let root: string;
  let h: Harness;
  let text: StoredFile;
  let hidden: StoredFile;
  let shared: StoredFile;
  let svg: StoredFile;
  let html: StoredFile;
  let photo: StoredFile;
  let voice: StoredFile;
  let bareVoice: StoredFile;
  let broken: StoredFile;
  let photo2: StoredFile;
  const mp3 = Buffer.concat([Buffer.from('ID3'), Buffer.alloc(500, 7)]);
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'media-route-'));
    const store = await open();
    h = await harness(store, root);
    await addConversations(store);
    text = await storeFile(store, h.media, root, 'm-text', SEEN, Buffer.from('0123456789'.repeat(30)), {
      kind: 'file',
      contentType: 'text/plain; charset=utf-8',
      fileName: '会议纪要 2026.txt',
    });
    hidden = await storeFile(store, h.media, root, 'm-hidden', HIDDEN, Buffer.from('only in the other conversation'), {
      kind: 'file',
      contentType: 'text/plain',
      fileName: 'x.txt',
    });
    // the same bytes sent in both conversations: visible through either message
    const bytes = Buffer.from('sent twice');
    shared = await storeFile(store, h.media, root, 'm-shared-1', HIDDEN, bytes, { kind: 'file', contentType: 'text/plain', fileName: 'a.txt' });
    await storeFile(store, h.media, root, 'm-shared-2', SEEN, bytes, { kind: 'file', contentType: 'text/plain', fileName: 'a.txt' });
    if (dialect !== 'sqlite') return;
    svg = await storeFile(store, h.media, root, 'm-svg', SEEN, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), {
      kind: 'file',
      contentType: 'image/svg+xml',
      fileName: 'logo.svg',
    });
    html = await storeFile(store, h.media, root, 'm-html', SEEN, Buffer.from('<html><script>alert(1)</script></html>'), {
      kind: 'file',
      contentType: 'text/html',
      fileName: '"evil".html',
    });
    const png = await sharp({ create: { width: 1200, height: 800, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer();
    photo = await storeFile(store, h.media, root, 'm-photo', SEEN, png, { kind: 'image', contentType: 'image/png', fileName: null });
    voice = await storeFile(store, h.media, root, 'm-voice', SEEN, Buffer.from('#!SILK_V3 voice one'), { kind: 'voice', contentType: 'audio/silk', fileName: null, mp3 });
    const jpeg = await sharp({ create: { width: 400, height: 900, channels: 3, background: { r: 20, g: 90, b: 200 } } })
      .jpeg()
      .toBuffer();
    photo2 = await storeFile(store, h.media, root, 'm-photo-2', SEEN, jpeg, { kind: 'image', contentType: 'image/jpeg', fileName: 'IMG_0001.jpg' });
    broken = await storeFile(store, h.media, root, 'm-broken', SEEN, Buffer.concat([png.subarray(0, 60), Buffer.alloc(200)]), {
      kind: 'image',
      contentType: 'image/png',
      fileName: null,
    });
    bareVoice = await storeFile(store, h.media, root, 'm-voice-2', SEEN, Buffer.from('#!SILK_V3 voice two'), { kind: 'voice', contentType: 'audio/silk', fileName: null });
  });
  afterAll(async () => {
    await h.api.close();
    await rm(root, { recursive: true, force: true });
  });

  it('serves a file only through a message in the caller’s scope; out of scope and unknown are the same 404', async () => {
    const seen = await h.get(url(text.sha256), 'viewer-token');
    expect(seen.statusCode).toBe(200);
    expect(seen.rawPayload.equals(text.bytes)).toBe(true);

    const unknown = await h.get(url('0'.repeat(64)), 'viewer-token');
    const outOfScope = await h.get(url(hidden.sha256), 'viewer-token');
    const noGrant = await h.get(url(text.sha256), 'no-grant-token');
    for (const res of [unknown, outOfScope, noGrant]) {
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual(unknown.json());
    }
    expect((await h.get(url(hidden.sha256), 'other-viewer-token')).statusCode).toBe(200);
    expect((await h.get(url(text.sha256), 'other-viewer-token')).statusCode).toBe(404);
    expect((await h.get(url(hidden.sha256), 'admin-token')).statusCode).toBe(200);
    // another corp's path finds nothing, even for an admin
    expect((await h.get(`/api/corps/wwothercorp/media/${text.sha256}`, 'admin-token')).statusCode).toBe(404);
    for (const token of ['viewer-token', 'other-viewer-token']) {
      const res = await h.get(url(shared.sha256), token);
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('sent twice');
    }
    // the audit names the conversation the file was reached through, and only served files are audited
    const rows = h.audit.entries.filter((e) => e.username === 'vera');
    expect(rows.map((e) => [e.action, e.corpid, e.conversation, e.items])).toEqual([
      ['media.read', CORP, SEEN, 1],
      ['media.read', CORP, SEEN, 1],
    ]);
  });

  if (dialect !== 'sqlite') return;

  it('refuses callers who are not signed in, and ids that are not a SHA-256', async () => {
    const res = await h.get(url(text.sha256), undefined);
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain('0123456789');
    for (const bad of ['..%2F..%2Fetc%2Fpasswd', 'A'.repeat(64), `${text.sha256.slice(0, 63)}g`, text.sha256.slice(0, 62)]) {
      const r = await h.get(`/api/corps/${CORP}/media/${bad}`, 'admin-token');
      expect(r.statusCode).toBe(400);
    }
    expect((await h.get(url(text.sha256, '?variant=original'), 'admin-token')).statusCode).toBe(400);
  });

  it('answers single byte ranges with 206, and 416 when none of the range is in the file', async () => {
    const first = await h.get(url(text.sha256), 'admin-token', { range: 'bytes=0-99' });
    expect(first.statusCode).toBe(206);
    expect(first.headers['content-range']).toBe(`bytes 0-99/${text.bytes.length}`);
    expect(first.headers['content-length']).toBe('100');
    expect(first.rawPayload.equals(text.bytes.subarray(0, 100))).toBe(true);

    const middle = await h.get(url(text.sha256), 'admin-token', { range: 'bytes=105-117' });
    expect(middle.statusCode).toBe(206);
    expect(middle.rawPayload.equals(text.bytes.subarray(105, 118))).toBe(true);

    const suffix = await h.get(url(text.sha256), 'admin-token', { range: 'bytes=-7' });
    expect(suffix.statusCode).toBe(206);
    expect(suffix.headers['content-range']).toBe(`bytes ${text.bytes.length - 7}-${text.bytes.length - 1}/${text.bytes.length}`);
    expect(suffix.rawPayload.equals(text.bytes.subarray(-7))).toBe(true);

    const open = await h.get(url(text.sha256), 'admin-token', { range: 'bytes=290-' });
    expect(open.rawPayload.equals(text.bytes.subarray(290))).toBe(true);

    for (const range of [`bytes=${text.bytes.length}-`, 'bytes=5000-6000', 'bytes=-0']) {
      const res = await h.get(url(text.sha256), 'admin-token', { range });
      expect(res.statusCode).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${text.bytes.length}`);
      expect(res.json().error).toBe('MEDIA_RANGE_UNSATISFIABLE');
      expect(res.headers['content-disposition']).toBeUndefined();
    }
    // several ranges: the whole file (a server may ignore Range)
    const many = await h.get(url(text.sha256), 'admin-token', { range: 'bytes=0-1,5-6' });
    expect(many.statusCode).toBe(200);
    expect(many.rawPayload.equals(text.bytes)).toBe(true);
    expect(many.headers.etag).toBe(`"${text.sha256}"`);
    expect((await h.get(url(text.sha256), 'admin-token', { 'if-none-match': `"${text.sha256}"` })).statusCode).toBe(304);
  });

  it('names the file in Content-Disposition (RFC 5987 and an ASCII fallback), never serves HTML or SVG inline, never lets a browser sniff', async () => {
    const res = await h.get(url(text.sha256), 'admin-token');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-disposition']).toBe(`inline; filename="____ 2026.txt"; filename*=UTF-8''${encodeURIComponent('会议纪要 2026.txt')}`);
    expect(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(String(res.headers['content-disposition']))![1]!)).toBe('会议纪要 2026.txt');

    for (const [file, name] of [
      [svg, 'logo.svg'],
      [html, '_evil_.html'],
      [voice, voice.sha256],
    ] as const) {
      const r = await h.get(url(file.sha256), 'viewer-token');
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/octet-stream');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['content-disposition']).toBe(`attachment; filename="${name}"; filename*=UTF-8''${encodeURIComponent(name)}`);
      expect(r.rawPayload.equals(file.bytes)).toBe(true);
    }
    const image = await h.get(url(photo.sha256), 'viewer-token');
    expect(image.headers['content-type']).toBe('image/png');
    expect(String(image.headers['content-disposition'])).toMatch(/^inline; /);
  });

  it('makes a thumbnail of an image once, keeps it in the media store, and serves it from there after', async () => {
    const before = h.thumbCalls.count;
    const first = await h.get(url(photo.sha256, '?variant=thumb'), 'viewer-token');
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('image/webp');
    const meta = await sharp(first.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 320, 213]);
    expect(h.thumbCalls.count).toBe(before + 1);
    const cached = join(root, 'store', ...derivedKey(photo.sha256, 'thumb').split('/'));
    const made = await stat(cached);

    const second = await h.get(url(photo.sha256, '?variant=thumb'), 'viewer-token', { range: 'bytes=0-9' });
    expect(second.statusCode).toBe(206);
    expect(second.rawPayload.equals(first.rawPayload.subarray(0, 10))).toBe(true);
    expect(h.thumbCalls.count).toBe(before + 1);
    expect((await stat(cached)).mtimeMs).toBe(made.mtimeMs);
    // no thumbnail of what is not an image
    expect((await h.get(url(svg.sha256, '?variant=thumb'), 'viewer-token')).statusCode).toBe(404);
    expect((await h.get(url(text.sha256, '?variant=thumb'), 'viewer-token')).statusCode).toBe(404);
    expect(h.thumbCalls.count).toBe(before + 1);
  });

  it('makes one thumbnail for requests that come at once; a broken image gets 422 and nothing is kept', async () => {
    const before = h.thumbCalls.count;
    const answers = await Promise.all([1, 2, 3].map(() => h.get(url(photo2.sha256, '?variant=thumb'), 'viewer-token')));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200]);
    expect(answers.every((a) => a.rawPayload.equals(answers[0]!.rawPayload))).toBe(true);
    expect(h.thumbCalls.count).toBe(before + 1);

    const res = await h.get(url(broken.sha256, '?variant=thumb'), 'viewer-token');
    expect(res.statusCode).toBe(422);
    expect(res.json().error).toBe('MEDIA_THUMBNAIL_FAILED');
    expect(await h.media.has(derivedKey(broken.sha256, 'thumb'))).toBe(false);
    expect((await h.get(url(broken.sha256), 'viewer-token')).rawPayload.equals(broken.bytes)).toBe(true);
  });

  it('serves the MP3 copy of a voice, 404 when it has none; one audit row per file served', async () => {
    const auditBefore = h.audit.entries.length;
    const res = await h.get(url(voice.sha256, '?variant=mp3'), 'viewer-token');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('audio/mpeg');
    expect(res.rawPayload.equals(mp3)).toBe(true);
    expect(res.headers['content-disposition']).toBe(`inline; filename="${voice.sha256}.mp3"; filename*=UTF-8''${voice.sha256}.mp3`);
    expect((await h.get(url(bareVoice.sha256, '?variant=mp3'), 'viewer-token')).statusCode).toBe(404);
    expect(h.audit.entries.slice(auditBefore)).toEqual([
      expect.objectContaining({
        action: 'media.read',
        username: 'vera',
        role: 'viewer',
        corpid: CORP,
        conversation: SEEN,
        items: 1,
        query: { sha256: voice.sha256, msgid: 'm-voice', variant: 'mp3' },
      }),
    ]);
  });

  it('fails the request when the audit log refuses the row, before any byte is sent', async () => {
    h.audit.failWith = new Error('audit log unavailable');
    try {
      const res = await h.get(url(text.sha256), 'viewer-token');
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('0123456789');
    } finally {
      h.audit.failWith = undefined;
    }
  });
});
