import { createServer, connect, type Socket } from 'node:net';

/**
 * A TCP proxy between the archive and a shared database server, so a test can take "the database"
 * away without touching the real server (other test runs use it): `cut()` kills every connection and
 * refuses new ones until `restore()`.
 */
export interface TcpProxy {
  readonly port: number;
  /** `url` with its host and port replaced by the proxy's */
  via(url: string): string;
  /** destroys every open connection and refuses new ones */
  cut(): void;
  /** accepts connections again */
  restore(): void;
  /** connections accepted so far (refused ones not counted) */
  readonly accepted: number;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port || (target.protocol.startsWith('postgres') ? 5432 : 3306));
  const sockets = new Set<Socket>();
  let refusing = false;
  let accepted = 0;
  const server = createServer((client) => {
    if (refusing) {
      // a reset, as a server that is going down gives
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    const upstream = connect(targetPort, target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const cutAll = () => {
    for (const socket of [...sockets]) socket.resetAndDestroy();
    sockets.clear();
  };
  return {
    port,
    get accepted() {
      return accepted;
    },
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    cut() {
      refusing = true;
      cutAll();
    },
    restore() {
      refusing = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        refusing = true;
        cutAll();
        server.close(() => resolve());
      }),
  };
}
