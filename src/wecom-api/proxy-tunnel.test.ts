/**
 * The API client honours the corp's proxy: an HTTP proxy (absolute-form requests, CONNECT tunnels,
 * Proxy-Authorization) and a SOCKS5 proxy with user/password, each a small real proxy on 127.0.0.1
 * in front of the simulator's WeCom API.
 */
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '../simulator/server.ts';
import { DEFAULT_API_RETRY_POLICY } from './api-retry-policy.ts';
import { createHttpTransport } from './api-transport.ts';
import { openProxyTunnel } from './proxy-tunnel.ts';
import { TokenCache } from './token-cache.ts';
import { WeComApiClient } from './wecom-api-client.ts';
import { listDepartments } from './wecom-endpoints.ts';

let sim: RunningSimulator;
const servers: Array<Server | NetServer> = [];
const sockets = new Set<Socket>();
const listen = async <S extends Server | NetServer>(server: S): Promise<number> => {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
};

beforeAll(async () => {
  sim = await startSimulator({ messages: 10, seed: 'proxy' });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  for (const s of servers) {
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await sim.close();
});

/** An HTTP proxy that wants `user:pass`, forwards absolute-form requests and opens CONNECT tunnels. */
async function httpProxy(): Promise<{ url: string; log: string[] }> {
  const log: string[] = [];
  const expected = `Basic ${Buffer.from('user:p@ss', 'utf8').toString('base64')}`;
  const server = createHttpServer((req, res) => {
    if (req.headers['proxy-authorization'] !== expected) {
      res.writeHead(407).end();
      return;
    }
    const target = new URL(req.url ?? '');
    log.push(`${req.method} ${target.pathname}`);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: target.pathname + target.search, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    req.pipe(up);
  });
  server.on('connect', (req, socket: Socket, head) => {
    if (req.headers['proxy-authorization'] !== expected) {
      socket.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
      return;
    }
    log.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}`, log };
}

/** A SOCKS5 proxy with user/password authentication (RFC 1928/1929), CONNECT by domain or IPv4. */
async function socksProxy(): Promise<{ url: string; log: string[] }> {
  const log: string[] = [];
  const server = createNetServer((client) => {
    let stage = 0;
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 0 && buf.length >= 2 && buf.length >= 2 + buf[1]!) {
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        client.write(Buffer.from([5, methods.includes(2) ? 2 : 0xff]));
        stage = methods.includes(2) ? 1 : 9;
      }
      if (stage === 1 && buf.length >= 2) {
        const ulen = buf[1]!;
        if (buf.length < 2 + ulen + 1) return;
        const plen = buf[2 + ulen]!;
        if (buf.length < 3 + ulen + plen) return;
        const user = buf.subarray(2, 2 + ulen).toString();
        const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
        buf = buf.subarray(3 + ulen + plen);
        const ok = user === 'sock' && pass === 'secret:with:colons';
        client.write(Buffer.from([1, ok ? 0 : 1]));
        stage = ok ? 2 : 9;
      }
      if (stage === 2 && buf.length >= 5) {
        const atyp = buf[3];
        const len = atyp === 3 ? buf[4]! : 4;
        const start = atyp === 3 ? 5 : 4;
        if (buf.length < start + len + 2) return;
        const host = atyp === 3 ? buf.subarray(start, start + len).toString() : [...buf.subarray(4, 8)].join('.');
        const port = buf.readUInt16BE(start + len);
        log.push(`CONNECT ${host}:${port}`);
        client.off('data', onData);
        const up = connect(port, host, () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          up.pipe(client);
          client.pipe(up);
        });
        stage = 3;
      }
    };
    client.on('data', onData);
    client.on('error', () => undefined);
  });
  return { url: `socks5://127.0.0.1:${await listen(server)}`, log };
}

function client(proxy: string | null, proxyAuth: string | null): WeComApiClient {
  return new WeComApiClient(
    { corpid: sim.corp.corpid, apiBase: sim.url, secrets: { archive: sim.corp.secret, contacts: sim.api.secrets.contacts, customer: null }, proxy, proxyAuth, timeoutS: 5 },
    { transport: createHttpTransport(), tokens: new TokenCache(), policy: { ...DEFAULT_API_RETRY_POLICY, network: { retries: 1, baseMs: 1, maxMs: 1 } } },
  );
}

describe("WeCom API through the corp's proxy", () => {
  it('goes through an HTTP proxy with Proxy-Authorization', async () => {
    const proxy = await httpProxy();
    const departments = await listDepartments(client(proxy.url, 'user:p@ss'));
    expect(departments.map((d) => d.id)).toContain(1);
    expect(proxy.log).toEqual(['GET /cgi-bin/gettoken', 'GET /cgi-bin/department/list']);
    // Without the right credentials the proxy refuses, and the error says so (no password in it).
    const err = await listDepartments(client(proxy.url, 'user:wrong')).then(
      () => new Error('no error'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/requires authentication \(407\)/);
    expect(err.message).not.toContain('wrong');
  });

  it('opens a CONNECT tunnel (the path https targets take)', async () => {
    const proxy = await httpProxy();
    const target = new URL(sim.url);
    const socket = await openProxyTunnel(proxy.url, 'user:p@ss', { host: target.hostname, port: Number(target.port) }, 5_000);
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ host: target.hostname, port: target.port, path: '/cgi-bin/getcallbackip', createConnection: () => socket, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(answer)).toMatchObject({ errcode: 41001 });
    expect(proxy.log).toEqual([`CONNECT ${target.hostname}:${target.port}`]);
    await expect(openProxyTunnel(proxy.url, null, { host: target.hostname, port: Number(target.port) }, 5_000)).rejects.toThrow(/requires authentication \(407\)/);
  });

  it('goes through a SOCKS5 proxy with user and password', async () => {
    const proxy = await socksProxy();
    const departments = await listDepartments(client(proxy.url, 'sock:secret:with:colons'));
    expect(departments.length).toBeGreaterThan(1);
    expect(proxy.log.length).toBeGreaterThanOrEqual(2);
    const err = await listDepartments(client(proxy.url, 'sock:nope')).then(
      () => new Error('no error'),
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/refused the user and password/);
    expect(err.message).not.toContain('nope');
  });
});
