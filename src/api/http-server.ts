/**
 * The archive's HTTP server inside `run`, `serve` and `demo`: the edge of build-api.ts, listening.
 */
import type { AddressInfo } from 'node:net';
import type { App } from '../app/app.ts';
import type { Logger } from '../app/logger.ts';
import { ArchiveError } from '../errors/errors.ts';
import { type ApiOptions, buildApi } from './build-api.ts';

export interface HttpServer {
  readonly port: number;
  close(): Promise<void>;
}

export type HttpServerOptions = ApiOptions;

export async function startHttpServer(app: App, port: number, log: Logger, host = '127.0.0.1', options: HttpServerOptions = {}): Promise<HttpServer> {
  const api = await buildApi(app, log, options);
  await api.ready();
  const server = api.server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new ArchiveError('PORT_UNAVAILABLE', `cannot listen on ${host}:${port}: ${err.code ?? err.message}; choose another with --port or WECOM_ARCHIVE_PORT`, { kind: 'invalid' }),
      ),
    );
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      server.closeAllConnections();
      await api.close();
    },
  };
}
