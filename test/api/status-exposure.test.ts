/**
 * A server that faces WeCom (listening on every address) answers /api/status only to this machine's
 * loopback clients, whatever X-Forwarded-For says; callbacks are still answered from anywhere.
 */
import { networkInterfaces } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { isLoopbackAddress } from '../../src/api/loopback.ts';
import { startHttpServer, type HttpServer } from '../../src/api/http-server.ts';
import { createLogger } from '../../src/app/logger.ts';
import { describeEachDialect } from '../support/databases.ts';
import { appWithEnv, rawRequest } from '../callbacks/harness.ts';

/** An address of this machine that is not loopback, if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

it('knows loopback addresses by the socket address alone', () => {
  for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLoopbackAddress(a), a).toBe(true);
  for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:192.0.2.2', 'fd00::1', '::', '1::1', '', undefined, 'localhost', '128.0.0.1'])
    expect(isLoopbackAddress(a), String(a)).toBe(false);
});

describeEachDialect('HTTP status exposure', ({ open }) => {
  it.skipIf(outside === undefined)('answers /api/status on loopback only, ignoring X-Forwarded-For', async () => {
    const app = appWithEnv(await open());
    await app.corps.add({
      corpid: 'wwexposed',
      secret: 'archive-secret',
      sdk: { kind: 'simulator', url: 'http://127.0.0.1:9' },
      proxy: null,
      proxyAuth: null,
      limit: 1000,
      timeoutS: 5,
    });
    const server = await startHttpServer(app, 0, createLogger('silent'), '0.0.0.0');
    servers.push(server);

    const local = await rawRequest(`http://127.0.0.1:${server.port}`, 'GET', '/api/status');
    expect(local.status).toBe(200);
    expect(JSON.parse(local.body).corps.map((c: { corpid: string }) => c.corpid)).toEqual(['wwexposed']);

    const spoofs: Array<Record<string, string>> = [{}, { 'x-forwarded-for': '127.0.0.1' }, { 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1' }];
    for (const headers of spoofs) {
      const far = await rawRequest(`http://${outside}:${server.port}`, 'GET', '/api/status', undefined, headers);
      expect(far.status).toBe(403);
      expect(JSON.parse(far.body)).toEqual({ error: 'STATUS_LOOPBACK_ONLY', message: '/api/status answers only on this machine (127.0.0.1 or ::1)' });
      expect(far.body).not.toContain('wwexposed');
    }
    // health stays open to a load balancer
    expect((await rawRequest(`http://${outside}:${server.port}`, 'GET', '/healthz')).status).toBe(200);
  });
});
