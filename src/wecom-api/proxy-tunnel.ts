/**
 * Opens a TCP stream to host:port through the corp's proxy (the same `--proxy` the SDK uses, which
 * takes `socks5://host:port` or `http://host:port`): an HTTP proxy by CONNECT, or a SOCKS5 proxy
 * (RFC 1928, with RFC 1929 user/password when `--proxy-auth` is set). The caller puts TLS on top
 * for https targets. Messages name the proxy host and the failure, never the proxy password.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ArchiveError } from '../errors/errors.ts';

/** The proxy could not be reached or refused the tunnel. Transient: proxies restart. */
export class ProxyTunnelError extends ArchiveError {
  /** false for refusals a retry cannot fix (wrong proxy credentials, unsupported scheme) */
  readonly transient: boolean;
  constructor(message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super('WECOM_API_PROXY_FAILED', message, { ...(options.cause === undefined ? {} : { cause: options.cause }), httpStatus: 502 });
    this.transient = options.transient ?? true;
  }
}

export interface TunnelTarget {
  host: string;
  port: number;
}

/** Connects to the proxy itself (TLS for an https:// proxy). */
function connectToProxy(proxy: URL, timeoutMs: number): Promise<Socket> {
  const port = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : proxy.protocol.startsWith('socks') ? 1080 : 80));
  const host = proxy.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const socket: Socket = proxy.protocol === 'https:' ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProxyTunnelError(`the proxy ${host}:${port} did not accept a connection within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ProxyTunnelError(`cannot reach the proxy ${host}:${port}: ${err.code ?? err.message}`, { cause: err }));
    });
  });
}

/** Reads from `socket` until `done(buffered)` returns a number of bytes consumed (or throws). */
function readUntil(socket: Socket, timeoutMs: number, done: (buf: Buffer) => number | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) {
        socket.destroy();
        reject(err);
      } else resolve();
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > 16 * 1024) return finish(new ProxyTunnelError('the proxy sent an oversized handshake answer'));
      try {
        const used = done(buf);
        if (used === undefined) return;
        // Anything after the handshake belongs to the tunnelled stream: hand it back.
        if (used < buf.length) socket.unshift(buf.subarray(used));
        finish();
      } catch (err) {
        finish(err as Error);
      }
    };
    const onError = (err: Error): void => finish(new ProxyTunnelError(`the proxy connection failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err }));
    const onClose = (): void => finish(new ProxyTunnelError('the proxy closed the connection during the handshake'));
    const timer = setTimeout(() => finish(new ProxyTunnelError(`the proxy did not answer the handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onClose);
  });
}

async function httpConnect(socket: Socket, target: TunnelTarget, proxyAuth: string | null, timeoutMs: number): Promise<void> {
  const authority = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const auth = proxyAuth ? `Proxy-Authorization: Basic ${Buffer.from(proxyAuth, 'utf8').toString('base64')}\r\n` : '';
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  await readUntil(socket, timeoutMs, (buf) => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString('latin1'));
    if (!status) throw new ProxyTunnelError('the proxy answered CONNECT with something that is not HTTP');
    if (status[1] === '407') throw new ProxyTunnelError('the proxy requires authentication (407): check --proxy-auth of the corp', { transient: false });
    if (status[1] !== '200') throw new ProxyTunnelError(`the proxy refused CONNECT to ${authority} with HTTP ${status[1]}`);
    return end + 4;
  });
}

async function socks5Connect(socket: Socket, target: TunnelTarget, proxyAuth: string | null, timeoutMs: number): Promise<void> {
  // Greeting: offer no-auth, and user/password when we have credentials.
  socket.write(Buffer.from(proxyAuth ? [5, 2, 0, 2] : [5, 1, 0]));
  let method = -1;
  await readUntil(socket, timeoutMs, (buf) => {
    if (buf.length < 2) return undefined;
    if (buf[0] !== 5) throw new ProxyTunnelError('the proxy is not a SOCKS5 proxy');
    method = buf[1]!;
    return 2;
  });
  if (method === 0xff) throw new ProxyTunnelError('the SOCKS5 proxy accepts none of our authentication methods: check --proxy-auth of the corp', { transient: false });
  if (method === 2) {
    if (!proxyAuth) throw new ProxyTunnelError('the SOCKS5 proxy requires a user and password: set --proxy-auth of the corp', { transient: false });
    const colon = proxyAuth.indexOf(':');
    const user = Buffer.from(proxyAuth.slice(0, colon), 'utf8');
    const pass = Buffer.from(proxyAuth.slice(colon + 1), 'utf8');
    if (user.length > 255 || pass.length > 255) throw new ProxyTunnelError('the SOCKS5 user or password is longer than 255 bytes');
    socket.write(Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([pass.length]), pass]));
    await readUntil(socket, timeoutMs, (buf) => {
      if (buf.length < 2) return undefined;
      if (buf[1] !== 0) throw new ProxyTunnelError('the SOCKS5 proxy refused the user and password of --proxy-auth', { transient: false });
      return 2;
    });
  } else if (method !== 0) {
    throw new ProxyTunnelError(`the SOCKS5 proxy chose an unsupported authentication method ${method}`);
  }
  // CONNECT by domain name (ATYP 3): the proxy resolves it, as curl's socks5h does.
  const host = Buffer.from(target.host, 'utf8');
  if (host.length > 255) throw new ProxyTunnelError('the target host name is too long for SOCKS5');
  socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, host.length]), host, Buffer.from([target.port >> 8, target.port & 0xff])]));
  await readUntil(socket, timeoutMs, (buf) => {
    if (buf.length < 5) return undefined;
    if (buf[0] !== 5) throw new ProxyTunnelError('the SOCKS5 proxy sent a malformed reply');
    if (buf[1] !== 0) throw new ProxyTunnelError(`the SOCKS5 proxy could not connect to ${target.host}:${target.port} (reply code ${buf[1]})`);
    const atyp = buf[3];
    const addrLen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + buf[4]! : -1;
    if (addrLen < 0) throw new ProxyTunnelError('the SOCKS5 proxy sent an unknown address type');
    const total = 4 + addrLen + 2;
    return buf.length >= total ? total : undefined;
  });
}

/**
 * A socket connected to `target` through `proxy` (http://, https://, socks5:// or socks5h://).
 * @param proxyAuth `user:password`, or null
 */
export async function openProxyTunnel(proxy: string, proxyAuth: string | null, target: TunnelTarget, timeoutMs: number): Promise<Socket> {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch (err) {
    throw new ProxyTunnelError("the corp's --proxy is not a URL", { cause: err });
  }
  const socket = await connectToProxy(url, timeoutMs);
  try {
    if (url.protocol === 'socks5:' || url.protocol === 'socks5h:') await socks5Connect(socket, target, proxyAuth, timeoutMs);
    else if (url.protocol === 'http:' || url.protocol === 'https:') await httpConnect(socket, target, proxyAuth, timeoutMs);
    else throw new ProxyTunnelError(`unsupported proxy scheme ${url.protocol}`, { transient: false });
  } catch (err) {
    socket.destroy();
    throw err;
  }
  return socket;
}
