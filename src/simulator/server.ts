/**
 * The simulator's HTTP server: SDK routes for the `simulator:` backend (sdk/wire.ts), the WeCom
 * HTTP API (api/), the control API (control/control-routes.ts), and fault injection around the SDK
 * calls. `startSimulator` is the programmatic entry for tests; the CLI uses it too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { BodyTooLarge, readBody } from '../api/read-body.ts';
import { sendJson } from '../api/send-json.ts';
import { ArchiveError } from '../errors/errors.ts';
import { apiControlRoute, apiRoute } from './api/api-routes.ts';
import { simulatorApi, type SimulatorApi } from './api/api-state.ts';
import { controlRoute } from './control/control-routes.ts';
import { defaultErrmsg, parseFaultSpec, validateFaultSpec, type Fault, type FaultOperation, type FaultSpec } from './control/faults.ts';
import { Simulator, type SimulatorOptions, type SimulatorState } from './core/simulator.ts';
import { chatDataRoute, decryptRoute, mediaRoute, type SdkReply } from './sdk/sdk-routes.ts';
import { HEADER_LENGTH, HEADER_RET, SDK_ROUTES } from './sdk/wire.ts';

const SDK_BODY_LIMIT = 1 << 20;
const CONTROL_BODY_LIMIT = 256 << 20;

const SDK_HANDLERS: Readonly<Record<string, { op: FaultOperation; handle: (sim: Simulator, body: unknown) => SdkReply }>> = {
  [SDK_ROUTES.chatData]: { op: 'chatdata', handle: chatDataRoute },
  [SDK_ROUTES.media]: { op: 'media', handle: mediaRoute },
  [SDK_ROUTES.decrypt]: { op: 'decrypt', handle: decryptRoute },
};

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Applies a fault (if any) to one SDK call and writes the reply. */
async function serveSdk(sim: Simulator, route: (typeof SDK_HANDLERS)[string], req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req, SDK_BODY_LIMIT);
  const fault: Fault | undefined = sim.faults.take(route.op);
  if (fault?.kind === 'disconnect') {
    // as if the network dropped: no status line at all
    req.socket.destroy();
    return;
  }
  if (fault?.kind === 'delay') await sleep(fault.ms);
  if (res.destroyed) return;

  let reply: SdkReply;
  if (fault?.kind === 'sdk-code') {
    reply = { ret: fault.code, body: Buffer.from(JSON.stringify({ ret: fault.code, detail: 'injected fault' })), contentType: 'application/json' };
  } else if (fault?.kind === 'errcode') {
    // the SDK call succeeds (ret 0) and the JSON inside carries the server's error, as WeCom reports
    // server-side errors
    reply = {
      ret: 0,
      body: Buffer.from(JSON.stringify({ errcode: fault.errcode, errmsg: fault.errmsg ?? defaultErrmsg(fault.errcode) })),
      contentType: 'application/json; charset=utf-8',
    };
  } else {
    const parsed = parseJson(body);
    reply =
      parsed === undefined ? { ret: 10000, body: Buffer.from('{"ret":10000,"detail":"request body is not JSON"}'), contentType: 'application/json' } : route.handle(sim, parsed);
  }

  let payload = reply.body;
  if (fault?.kind === 'corrupt' && reply.ret === 0 && payload.length > 0) {
    payload = Buffer.from(payload);
    const at = Math.floor(payload.length / 2);
    payload[at] = (payload[at] as number) ^ 0xff;
  }
  const fullLength = payload.length;
  // a truncated answer: a well-formed HTTP message whose body is shorter than the SDK output
  if (fault?.kind === 'truncate') payload = payload.subarray(0, Math.floor(fullLength / 2));
  res.writeHead(200, {
    'content-type': reply.contentType,
    'content-length': payload.length,
    [HEADER_RET]: String(reply.ret),
    [HEADER_LENGTH]: String(fullLength),
    ...reply.headers,
  });
  res.end(payload);
}

/** An http.Server serving `sim`; not yet listening. */
export function createSimulatorServer(sim: Simulator): Server {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const handle = async (): Promise<void> => {
      const sdk = SDK_HANDLERS[url.pathname];
      if (sdk) {
        if (req.method !== 'POST') return sendJson(res, 405, { error: 'METHOD_NOT_ALLOWED', message: `${url.pathname} takes POST` });
        return serveSdk(sim, sdk, req, res);
      }
      if (url.pathname.startsWith('/cgi-bin/')) {
        // The WeCom HTTP APIs (api-routes.ts); WeCom answers 200 with an errcode, even for errors.
        const raw = req.method === 'POST' ? await readBody(req, SDK_BODY_LIMIT) : Buffer.alloc(0);
        const reply = apiRoute(simulatorApi(sim), req.method ?? 'GET', url.pathname, url.searchParams, raw.length === 0 ? {} : parseJson(raw));
        if (reply) return sendJson(res, reply.status, reply.json);
        return sendJson(res, 404, { errcode: 404, errmsg: `no API ${url.pathname}` });
      }
      if ((url.pathname === '/connect/oauth2/authorize' || url.pathname === '/wwlogin/sso/login') && req.method === 'GET') {
        // the pages a browser is sent to for sign in with WeCom (api/oauth.ts)
        const answer = simulatorApi(sim).oauth.authorize(url.pathname, url.searchParams);
        if (answer.location !== undefined) {
          res.writeHead(answer.status, { location: answer.location, 'cache-control': 'no-store', 'content-length': 0 });
          res.end();
          return;
        }
        return sendJson(res, answer.status, answer.json);
      }
      if (url.pathname.startsWith('/control/')) {
        const raw = req.method === 'GET' || req.method === 'DELETE' ? Buffer.alloc(0) : await readBody(req, CONTROL_BODY_LIMIT);
        const body = raw.length === 0 ? {} : parseJson(raw);
        if (body === undefined) return sendJson(res, 400, { error: 'CONTROL_INVALID', message: 'the request body is not JSON' });
        const name = url.pathname.slice('/control/'.length);
        const reply = (await controlRoute(sim, req.method ?? 'GET', name, body)) ?? (await apiControlRoute(simulatorApi(sim), req.method ?? 'GET', name, body));
        if (reply) return sendJson(res, reply.status, reply.json);
      }
      if (url.pathname === '/' && req.method === 'GET') {
        return sendJson(res, 200, { service: 'wecom-archive simulator', corpid: sim.corp.corpid, sdk: Object.values(SDK_ROUTES), control: '/control/state' });
      }
      sendJson(res, 404, { error: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
    };
    handle().catch((err: unknown) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: 'BODY_TOO_LARGE', message: 'request body too large' });
      if (err instanceof ArchiveError) return sendJson(res, err.httpStatus, { error: err.code, message: err.message });
      // a bug in the simulator: say so without taking the process down
      sendJson(res, 500, { error: 'SIMULATOR_ERROR', message: (err as Error).message });
    });
  });
  // Clients keep connections alive between calls; a server that drops an idle one just as a client
  // reuses it makes that call fail with ECONNRESET. Keep idle connections well beyond any pause.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  return server;
}

export interface StartSimulatorOptions extends SimulatorOptions {
  /** default 127.0.0.1 */
  host?: string;
  /** 0 (default) picks a free port */
  port?: number;
  /** encrypt the initial messages into this file before listening (see Simulator.prepareEnvelopes) */
  prepareEnvelopes?: { path: string; onProgress?(done: number, total: number): void };
}

export interface RunningSimulator {
  /** http://host:port — prefix with `simulator:` for the archive's sdk setting */
  readonly url: string;
  readonly port: number;
  readonly corp: { readonly corpid: string; readonly secret: string };
  readonly sim: Simulator;
  /** the WeCom HTTP API side: directory data, app secrets, tokens, API faults, callbacks (api-state.ts) */
  readonly api: SimulatorApi;
  /** private keys the simulator knows, by version (read fresh on each access: rotations add some) */
  readonly privateKeys: Map<number, KeyObject>;
  readonly privateKeyPems: Map<number, string>;
  plaintextOf(index: number): Buffer;
  seqOf(index: number): bigint;
  msgidOf(index: number): string;
  state(): SimulatorState;
  advanceClock(ms: number): void;
  appendGenerated(count: number): { first: number; count: number };
  appendFixtures(lines: ReadonlyArray<Buffer | string>): { first: number; count: number };
  setRate(perSecond: number): void;
  rotateKey(opts?: { version?: number; key?: string | KeyObject }): Promise<{ version: number; fromIndex: number }>;
  injectFault(spec: FaultSpec | string): void;
  clearFaults(): void;
  close(): Promise<void>;
}

/** Starts a simulator on 127.0.0.1 (port 0 = any free port) and resolves once it listens. */
export async function startSimulator(opts: StartSimulatorOptions = {}): Promise<RunningSimulator> {
  const sim = await Simulator.create(opts);
  if (opts.prepareEnvelopes) sim.prepareEnvelopes(opts.prepareEnvelopes.path, opts.prepareEnvelopes.onProgress);
  const server = createSimulatorServer(sim);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    corp: sim.corp,
    sim,
    api: simulatorApi(sim),
    get privateKeys() {
      return sim.privateKeys();
    },
    get privateKeyPems() {
      return sim.privateKeyPems();
    },
    plaintextOf: (i) => sim.plaintextOf(i),
    seqOf: (i) => sim.seqOf(i),
    msgidOf: (i) => sim.msgidOf(i),
    state: () => sim.state(),
    advanceClock: (ms) => sim.advanceClock(ms),
    appendGenerated: (n) => sim.appendGenerated(n),
    appendFixtures: (lines) => sim.appendFixtures(lines),
    setRate: (n) => sim.setRate(n),
    rotateKey: (o) => sim.rotateKey(o),
    injectFault: (spec) => sim.faults.add(typeof spec === 'string' ? parseFaultSpec(spec) : validateFaultSpec(spec)),
    clearFaults: () => sim.faults.clear(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => {
          sim.dispose();
          resolve();
        });
        // keep-alive connections would hold close() open until they time out
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
