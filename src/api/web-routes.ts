/**
 * The web UI at `/`: the files vite built into dist/web, served by the archive's own server so the
 * UI is same-origin with the API (the session cookie and the strict CSP need nothing more). A path
 * that is no file answers the app's index.html, so a link to a page of the app (history-mode routes)
 * opens it; the server's own prefixes (`/api/`, `/callback/`, the probes) never do, an unknown API
 * path stays a JSON 404.
 *
 * Hashed assets (`/assets/*`: vite names them by content) are cached for a year; index.html and
 * the other files revalidate on every load, so a new build is seen at once.
 */
import { createReadStream, existsSync, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@fastify/type-provider-typebox';
import type { ErrorCode } from '../errors/errors.ts';
import type { ApiInstance } from './api-types.ts';
import { handleNotFound } from './error-mapping.ts';

/** First path segments that belong to the server, not to the app: unknown paths under them are 404s. */
const SERVER_PREFIXES = new Set(['api', 'callback', 'healthz', 'readyz', 'metrics']);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** vite names every file under assets/ by its content: a changed file is a new URL, so the old one never needs revalidating */
const HASHED_CACHE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * dist/web of the package this module belongs to: the folder with package.json above it is the
 * package root, whether this runs as src/api/web-routes.ts (tsx), inside dist/wecom-archive.mjs
 * (the build), or in the Docker image (/app/dist/…).
 */
export function defaultWebRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'dist', 'web');
    if (dirname(dir) === dir) return join(here, 'web');
  }
}

/**
 * The app is not built: said plainly, since a checkout run from its sources has no dist/web until
 * `npm run build`. Answered here rather than thrown: it is the operator's state, not a failure to
 * log with a stack on every page load.
 */
function notBuilt(reply: FastifyReply): FastifyReply {
  const error: ErrorCode = 'WEB_UI_NOT_BUILT';
  return reply
    .code(503)
    .type('application/json; charset=utf-8')
    .send({ error, message: "the web UI is not built: run `npm run build` in the archive's folder (it builds the UI into dist/web), then reload" });
}

/** A regular file at `path` that is inside `root` once every link is resolved, or undefined. */
async function fileInside(root: string, path: string): Promise<{ path: string; stats: Stats } | undefined> {
  try {
    const [realRoot, real] = await Promise.all([realpath(root), realpath(path)]);
    if (!real.startsWith(realRoot + sep)) return undefined;
    const stats = await stat(real);
    return stats.isFile() ? { path: real, stats } : undefined;
  } catch {
    return undefined;
  }
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: { path: string; stats: Stats }, cacheControl: string): FastifyReply {
  const etag = `W/"${file.stats.size.toString(16)}-${Math.floor(file.stats.mtimeMs).toString(16)}"`;
  reply
    .header('content-type', CONTENT_TYPES[extname(file.path).toLowerCase()] ?? 'application/octet-stream')
    .header('cache-control', cacheControl)
    .header('etag', etag)
    .header('last-modified', file.stats.mtime.toUTCString());
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  reply.header('content-length', String(file.stats.size));
  // a HEAD answer has the headers only: no file is opened for it
  if (request.method === 'HEAD') return reply.send();
  return reply.send(createReadStream(file.path));
}

/** Serves the UI built in `webRoot` (default: the package's dist/web). Registered last: it answers every GET and HEAD no other route takes. */
export function webRoutes(webRoot: string = defaultWebRoot()) {
  const root = resolve(webRoot);
  const serve = async (request: FastifyRequest, reply: FastifyReply, relative: string): Promise<FastifyReply> => {
    const segments = relative.split('/');
    if (SERVER_PREFIXES.has(segments[0]!)) return handleNotFound(request, reply);
    // `..`, `.` and hidden files are never served, whatever the URL encoding made of them (the router decodes `%2f`)
    if (segments.some((s) => s.startsWith('.') || s.includes('\\') || s.includes('\0'))) return handleNotFound(request, reply);
    const wanted = join(root, ...segments);
    if (relative !== '' && wanted.startsWith(root + sep)) {
      const file = await fileInside(root, wanted);
      if (file) return sendFile(request, reply, file, segments[0] === 'assets' ? HASHED_CACHE : REVALIDATE);
      // a missing hashed file is an old build's: index.html in its place would be run as a script
      if (segments[0] === 'assets') return handleNotFound(request, reply);
    }
    const index = await fileInside(root, join(root, 'index.html'));
    if (!index) return notBuilt(reply);
    return sendFile(request, reply, index, REVALIDATE);
  };
  return (api: ApiInstance): void => {
    // HEAD declared here rather than derived from GET: Fastify's derived HEAD would read the whole file to discard it
    api.route({ method: ['GET', 'HEAD'], url: '/', config: { access: 'public' }, schema: { hide: true }, handler: (request, reply) => serve(request, reply, '') });
    api.route({
      method: ['GET', 'HEAD'],
      url: '/*',
      config: { access: 'public' },
      schema: { hide: true, params: Type.Record(Type.String(), Type.String()) },
      handler: (request, reply) => serve(request, reply, request.params['*'] ?? ''),
    });
  };
}
