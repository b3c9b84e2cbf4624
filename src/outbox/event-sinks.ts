/**
 * Where the delivery stage sends an event: a webhook (one signed POST per event) or a NATS
 * JetStream stream (one publish per event, deduplicated by the stream). A sink throws to ask for a
 * retry; it never logs or keeps a body.
 */
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ArchiveError } from '../errors/errors.ts';
import { dedupIdOf, type StoredEvent, subjectOf, subjectToken } from './event-payloads.ts';
import { EVENT_ID_HEADER, signWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './webhook-signature.ts';

export interface EventSink {
  /** Delivers one event (its JSON body made by the stage); throws when it was not taken. */
  deliver(event: StoredEvent, body: string): Promise<void>;
}

function deliveryFailed(message: string, cause?: unknown): ArchiveError {
  return new ArchiveError('SINK_DELIVERY_FAILED', message, cause === undefined ? {} : { cause });
}

/** The reason of a failed fetch in a few words (its cause names the socket error), never the request. */
function fetchReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'TimeoutError') return 'no answer in time';
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

/** A webhook: 2xx is delivered; anything else (redirects included) is a failed try. */
export class WebhookSink implements EventSink {
  constructor(
    private readonly url: string,
    private readonly secret: Buffer,
    private readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async deliver(event: StoredEvent, body: string): Promise<void> {
    const timestamp = Math.floor(this.now() / 1000);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(this.secret, timestamp, body),
          [EVENT_ID_HEADER]: dedupIdOf(event),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw deliveryFailed(`webhook not reached: ${fetchReason(err)}`, err);
    }
    // the answer's body is not wanted (nor kept): the status says it all
    await res.body?.cancel().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw deliveryFailed(`webhook answered HTTP ${res.status}`);
  }
}

/** Whether a stream subject (with wildcards) takes every subject `wecom.<corp>.>` names. */
export function subjectCovers(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return true;
    if (i >= s.length || s[i] === '>') return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

interface NatsServer {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** `stream corp` pairs whose subjects are known to be in the stream */
  ready: Set<string>;
}

/**
 * The NATS servers the stage publishes to, one connection each, opened on first use. A stream is
 * created when missing, with the subjects `wecom.<corpid>.>` of the corps that publish to it; a
 * corp's subjects are added to an existing stream unless one of its subjects (`wecom.>`) covers
 * them already. Per corp rather than `wecom.>` at once, because two streams of one server may not
 * share subjects: this way several streams (one per corp, or per test) can live side by side.
 */
export class NatsServers {
  private readonly servers = new Map<string, Promise<NatsServer>>();

  constructor(private readonly timeoutMs: number) {}

  private server(url: string): Promise<NatsServer> {
    let s = this.servers.get(url);
    if (!s) {
      s = (async () => {
        const nc = await connect({ servers: url, timeout: this.timeoutMs, name: 'wecom-archive' });
        // a connection that ends (closed, or gave up reconnecting) is opened afresh on the next delivery
        void nc.closed().then(() => this.servers.delete(url));
        return { nc, js: jetstream(nc, { timeout: this.timeoutMs }), jsm: await jetstreamManager(nc, { timeout: this.timeoutMs }), ready: new Set<string>() };
      })();
      s.catch(() => this.servers.delete(url));
      this.servers.set(url, s);
    }
    return s;
  }

  /** The sink of one stream on one server. */
  sink(url: string, stream: string): EventSink {
    return {
      deliver: async (event, body) => {
        let server: NatsServer;
        try {
          server = await this.server(url);
        } catch (err) {
          throw deliveryFailed(`NATS not reached: ${(err as Error).message}`, err);
        }
        try {
          await this.ensureStream(server, stream, event.corpid);
          await server.js.publish(subjectOf(event), body, { msgID: dedupIdOf(event), timeout: this.timeoutMs });
        } catch (err) {
          throw deliveryFailed(`NATS publish failed: ${(err as Error).message}`, err);
        }
      },
    };
  }

  private async ensureStream(server: NatsServer, stream: string, corpid: string): Promise<void> {
    const key = `${stream} ${corpid}`;
    if (server.ready.has(key)) return;
    const subject = `wecom.${subjectToken(corpid)}.>`;
    try {
      const info = await server.jsm.streams.info(stream);
      const subjects = info.config.subjects ?? [];
      if (!subjects.some((p) => subjectCovers(p, subject))) await server.jsm.streams.update(stream, { subjects: [...subjects, subject] });
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === 10059)) throw err;
      await server.jsm.streams.add({ name: stream, subjects: [subject] });
    }
    server.ready.add(key);
  }

  /** Closes every connection (after the stage stopped). */
  async close(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => s.then((x) => x.nc.close()).catch(() => undefined)));
  }
}
