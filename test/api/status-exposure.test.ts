/**
 * The HTTP server listening for real, on every database: /api/status is for signed-in admins only,
 * from anywhere (loopback included), whatever X-Forwarded-For says; /healthz stays open; a taken
 * port is PORT_UNAVAILABLE; a malformed request gets JSON; the client address is the socket's unless
 * a proxy is trusted.
 */
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import type { ApiRoutes } from '../../src/api/api-types.ts';
import { startHttpServer } from '../../src/api/http-server.ts';
import { startArchiveProcess } from '../../src/app/archive-process.ts';
import { createLogger } from '../../src/app/logger.ts';
import { describeEachDialect } from '../support/databases.ts';
import { FakeAuthenticator, MemoryAuditTrail } from '../support/fake-access.ts';
import { appWithEnv, rawRequest } from '../callbacks/harness.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

/** An address of this machine that is not loopback, if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const USERS = [
  { username: 'root', password: 'root-password-01', role: 'admin' as const },
  { username: 'vera', password: 'vera-password-01', role: 'viewer' as const },
];

async function signIn(base: string, username: string, password: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${base}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: base, ...headers },
    body: JSON.stringify({ username, password }),
  });
  expect(res.status).toBe(200);
  return res.headers.getSetCookie()[0]!.split(';')[0]!;
}

describeEachDialect('HTTP status exposure', ({ open }) => {
  it('answers /api/status to signed-in admins only, from anywhere, whatever X-Forwarded-For says', async () => {
    const app = appWithEnv(await open());
    await addOfflineCorp(app, 'wwexposed');
    const audit = new MemoryAuditTrail();
    const server = await startHttpServer(app, 0, createLogger('silent'), '0.0.0.0', { access: { authenticator: new FakeAuthenticator(USERS), audit } });
    servers.push(server);
    const local = `http://127.0.0.1:${server.port}`;

    const spoofs: Array<Record<string, string>> = [{}, { 'x-forwarded-for': '127.0.0.1' }, { 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1' }];
    for (const base of [local, ...(outside ? [`http://${outside}:${server.port}`] : [])]) {
      for (const headers of spoofs) {
        const anonymous = await rawRequest(base, 'GET', '/api/status', undefined, headers);
        expect(anonymous.status).toBe(401);
        expect(JSON.parse(anonymous.body).error).toBe('UNAUTHENTICATED');
        expect(anonymous.body).not.toContain('wwexposed');
      }
      // health stays open to a load balancer
      expect((await rawRequest(base, 'GET', '/healthz')).status).toBe(200);
    }
    const viewer = await rawRequest(local, 'GET', '/api/status', undefined, { cookie: await signIn(local, 'vera', 'vera-password-01') });
    expect(viewer.status).toBe(403);
    expect(viewer.body).not.toContain('wwexposed');
    const admin = await rawRequest(local, 'GET', '/api/status', undefined, { cookie: await signIn(local, 'root', 'root-password-01', { 'x-forwarded-for': '203.0.113.7' }) });
    expect(admin.status).toBe(200);
    expect(JSON.parse(admin.body).corps.map((c: { corpid: string }) => c.corpid)).toEqual(['wwexposed']);
    // no proxy is trusted: the audit keeps the socket's address, not the header's
    expect(audit.entries.map((a) => a.ip)).toEqual(['127.0.0.1', '127.0.0.1']);
  });

  it('takes the client address from a trusted proxy, refuses a taken port, and answers a malformed request with JSON', async () => {
    // through the composition root: --trust-proxy from the config, the accounts store and more routes from the plan
    const app = appWithEnv(await open(), { WECOM_ARCHIVE_TRUST_PROXY: '1' });
    const audit = new MemoryAuditTrail();
    const whoami: ApiRoutes = (api) => void api.get('/api/probe/whoami', { config: { access: 'signed-in' } }, async (request) => ({ username: request.caller!.username }));
    const running = await startArchiveProcess(app, createLogger('silent'), {
      listen: { host: '127.0.0.1', port: 0 },
      access: { authenticator: new FakeAuthenticator(USERS), audit },
      routes: [whoami],
    });
    const server = running.server;
    servers.push(running);
    const base = `http://127.0.0.1:${server.port}`;
    const cookie = await signIn(base, 'vera', 'vera-password-01', { 'x-forwarded-for': '198.51.100.1, 203.0.113.7' });
    // one proxy hop: the address the proxy saw, not what the client wrote before it
    expect(audit.entries.map((a) => a.ip)).toEqual(['203.0.113.7']);
    expect(JSON.parse((await rawRequest(base, 'GET', '/api/probe/whoami', undefined, { cookie })).body)).toEqual({ username: 'vera' });

    await expect(startHttpServer(app, server.port, createLogger('silent'))).rejects.toMatchObject({ code: 'PORT_UNAVAILABLE' });

    const answer = await new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      const socket = connect(server.port, '127.0.0.1');
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      socket.on('error', reject);
      socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: 'REQUEST_INVALID', message: 'malformed HTTP request' });
  });
});
