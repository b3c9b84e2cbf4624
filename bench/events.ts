/**
 * Event stream benchmark: how fast the delivery stage empties the outbox into its sinks.
 *
 * Opens a fresh archive with one corp and, through the service `sinks add` uses, a webhook sink
 * (a receiver in this process that answers 200, counts deliveries and distinct event ids, and checks
 * the HMAC signature of every 100th delivery) and a NATS JetStream sink on a stream of its own.
 * Then writes N text messages with their message events, 1,000 a transaction (the messages and their
 * events together, as the decrypt stage commits them), and runs the delivery stage with its default
 * timing, as the composition root starts it, until every sink's position is at the corp's last
 * event. Prints one JSON line:
 *   {events, db, include_content, write_s, write_events_per_s,
 *    sinks: {webhook: {seconds, events_per_s, received, distinct_ids, duplicates, signatures_checked, signatures_bad},
 *            nats: {seconds, events_per_s, stream_messages} | {skipped}},
 *    all_s, cpu_us_per_delivery, load_avg: {start, end}, machine, complete}
 * `complete` (else the exit code is 1): every sink caught up with no dead letter, the receiver saw
 * every event id (duplicates allowed, at least once) and no bad signature or body in its sample,
 * and the stream holds one message per event.
 * Both sinks are delivered by one stage at the same time, each sink's events one after the other
 * (that is the stage's order guarantee); a sink's seconds run from the stage's start until its
 * position reached the last event. The receiver shares this process (and the machine's cores);
 * cpu_us_per_delivery is this process's CPU time while delivering, over events × sinks: on SQLite
 * the database's work is in it, on a server database it is not.
 *
 *   npm run bench:events -- [--events 20000] [--db URL] [--nats nats://127.0.0.1:4222 | --no-nats] [--no-webhook] [--stream NAME] [--include-content]
 * --no-nats or --no-webhook measures the other sink alone.
 * With --db the database should be empty (a fresh database or schema); default a temporary SQLite
 * file. The NATS stream (default a fresh WA_BENCH_EVENTS_<random>) is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createApp } from '../src/app/app.ts';
import { createLogger } from '../src/app/logger.ts';
import { loadConfig } from '../src/config/config.ts';
import { DeliveryStage } from '../src/outbox/delivery-stage.ts';
import { recordMessageEvents } from '../src/outbox/outbox-writer.ts';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../src/outbox/webhook-signature.ts';
import { openStore } from '../src/store/open-store.ts';
import { seededRng } from '../test/support/test-seed.ts';
import { CORP, messageRow } from './support/text-rows.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    db: { type: 'string' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    'no-nats': { type: 'boolean' },
    'no-webhook': { type: 'boolean' },
    stream: { type: 'string' },
    'include-content': { type: 'boolean' },
    // give up (and say so) when the sinks are not caught up by then
    'timeout-s': { type: 'string', default: '900' },
  },
});
const count = Number(values.events);
if (!Number.isInteger(count) || count < 1) throw new Error('--events must be a positive integer');
const timeoutMs = Number(values['timeout-s']) * 1000;
const stream = values.stream ?? `WA_BENCH_EVENTS_${randomBytes(4).toString('hex')}`;
const includeContent = values['include-content'] === true;
/** Messages (and so events) a transaction, as the decrypt stage gathers its commits. */
const WRITE_BATCH = 1000;
/** The receiver checks the signature of every SAMPLE-th delivery (and of the first). */
const SAMPLE = 100;

const dir = mkdtempSync(join(tmpdir(), 'wa-bench-events-'));
const dbUrl = values.db ?? `sqlite:${join(dir, 'archive.db')}`;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');

/** The webhook receiver: answers 200 to every POST, counts, and keeps the event ids it saw. */
interface Receiver {
  url: string;
  received: number;
  ids: Set<string>;
  checked: number;
  bad: number;
  /** sampled bodies without their event id, or whose content is not there as the sink was asked to (--include-content) */
  badBodies: number;
  setSecret(secret: string): void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  let secret = Buffer.alloc(0);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = r.received++;
      r.ids.add(String(req.headers[EVENT_ID_HEADER]));
      if (n % SAMPLE === 0) {
        r.checked++;
        const body = Buffer.concat(chunks).toString('utf8');
        const ok = verifyWebhook(
          secret,
          req.headers[TIMESTAMP_HEADER] as string | undefined,
          req.headers[SIGNATURE_HEADER] as string | undefined,
          body,
          Math.floor(Date.now() / 1000),
        );
        if (!ok) r.bad++;
        const event = JSON.parse(body) as { id?: unknown; content?: unknown };
        if (event.id !== req.headers[EVENT_ID_HEADER] || (event.content !== undefined) !== includeContent) r.badBodies++;
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const r: Receiver = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    received: 0,
    ids: new Set(),
    checked: 0,
    bad: 0,
    badBodies: 0,
    setSecret: (s) => (secret = Buffer.from(s)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return r;
}

/** Why NATS cannot be used (null: it can). */
async function natsUnreachable(url: string): Promise<string | null> {
  try {
    const nc = await connect({ servers: url, timeout: 2000 });
    await nc.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The stream's message count (the duplicates its window dropped not counted), then the stream deleted. */
async function streamMessagesThenDelete(url: string, name: string): Promise<number | null> {
  const nc = await connect({ servers: url, timeout: 2000 });
  try {
    const jsm = await jetstreamManager(nc);
    const messages = await jsm.streams
      .info(name)
      .then((info) => info.state.messages)
      .catch(() => null);
    await jsm.streams.delete(name).catch(() => undefined);
    return messages;
  } finally {
    await nc.close();
  }
}

const loadAtStart = load();
const store = await openStore(dbUrl);
const receiver = await startReceiver();
let natsUsed = false;
try {
  const app = createApp(loadConfig({}, { WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' }, dir), store, Buffer.alloc(32, 9));
  await app.corps.add({ corpid: CORP, secret: 'archive-secret', sdk: { kind: 'simulator', url: 'http://127.0.0.1:9' }, proxy: null, proxyAuth: null, limit: 1000, timeoutS: 5 });

  const sinkTypes = new Map<number, 'webhook' | 'nats'>();
  if (!values['no-webhook']) {
    const hook = await app.sinks.add({ corpid: CORP, type: 'webhook', url: receiver.url, includeContent });
    receiver.setSecret(hook.generatedSecret!);
    sinkTypes.set(hook.id, 'webhook');
  }
  const natsSkipped = values['no-nats'] ? '--no-nats' : await natsUnreachable(values.nats);
  if (sinkTypes.size === 0 && natsSkipped !== null) throw new Error(`no sink to measure: --no-webhook, and NATS skipped (${natsSkipped.slice(0, 200)})`);
  if (natsSkipped === null) {
    const nats = await app.sinks.add({ corpid: CORP, type: 'nats', url: values.nats, stream, includeContent });
    sinkTypes.set(nats.id, 'nats');
    natsUsed = true;
  } else {
    process.stderr.write(`NATS skipped (${natsSkipped.slice(0, 200)})\n`);
  }

  // the messages and their events, as decrypt commits them (its other rows, media jobs and the index queue, left out)
  const { db, dialect } = store;
  const rng = seededRng('bench-events');
  const w0 = performance.now();
  for (let i = 0; i < count; i += WRITE_BATCH) {
    const rows = Array.from({ length: Math.min(WRITE_BATCH, count - i) }, (_, k) => messageRow(i + k, rng));
    await db.transaction().execute(async (trx) => {
      await dialect.insertIgnoring(trx, 'messages', rows, ['corpid', 'msgid']);
      await recordMessageEvents(trx, dialect, CORP, rows, Date.now());
    });
  }
  const writeSeconds = (performance.now() - w0) / 1000;
  const last = Number((await db.selectFrom('event_counters').select('last_seq').where('corpid', '=', CORP).executeTakeFirstOrThrow()).last_seq);
  if (last !== count) throw new Error(`the outbox holds ${last} events, not ${count}`);

  // the stage as archive-process.ts builds it, with its default timing
  const stage = new DeliveryStage({
    db,
    dialect,
    health: store.health,
    log: createLogger('warn'),
    secretOf: (sink) => app.sinks.secretOf(sink),
    now: Date.now,
  });
  const ctrl = new AbortController();
  const d0 = performance.now();
  const cpu0 = process.cpuUsage();
  const running = stage.run(ctrl.signal);
  const seconds = new Map<number, number>();
  // a sink is caught up when its position reached the last event: one small read every 50 ms
  while (seconds.size < sinkTypes.size && performance.now() - d0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 50));
    const cursors = await db.selectFrom('sink_cursors').select(['sink_id', 'delivered_seq']).execute();
    for (const c of cursors) if (!seconds.has(Number(c.sink_id)) && Number(c.delivered_seq) >= last) seconds.set(Number(c.sink_id), (performance.now() - d0) / 1000);
  }
  const allSeconds = (performance.now() - d0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  ctrl.abort();
  await running;
  await stage.close();

  const summaries = await app.sinks.list(CORP);
  const sinks: Record<string, unknown> = {};
  // every event arrived (at least once), signed and shaped as asked, and nothing is left behind
  let complete = seconds.size === sinkTypes.size;
  for (const s of summaries) {
    const type = sinkTypes.get(s.id)!;
    const secs = seconds.get(s.id);
    const base = {
      seconds: secs === undefined ? null : Math.round(secs * 100) / 100,
      events_per_s: secs === undefined ? null : Math.round(count / secs),
      backlog: s.backlog,
      dead_letters: s.deadLetters,
    };
    complete &&= s.backlog === 0 && s.deadLetters === 0;
    if (type === 'webhook') {
      const distinct = receiver.ids.size;
      complete &&= distinct === count && receiver.bad === 0 && receiver.badBodies === 0;
      sinks.webhook = {
        ...base,
        received: receiver.received,
        distinct_ids: distinct,
        duplicates: receiver.received - distinct,
        signatures_checked: receiver.checked,
        signatures_bad: receiver.bad,
        bodies_bad: receiver.badBodies,
      };
    } else {
      const inStream = await streamMessagesThenDelete(values.nats, stream);
      complete &&= inStream === count;
      sinks.nats = { ...base, stream_messages: inStream };
    }
  }
  natsUsed = false;
  if (natsSkipped !== null) sinks.nats = { skipped: natsSkipped.slice(0, 200) };
  const machine = { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown' };
  console.log(
    JSON.stringify({
      events: count,
      db: dialect.name,
      include_content: includeContent,
      write_s: Math.round(writeSeconds * 100) / 100,
      write_events_per_s: Math.round(count / writeSeconds),
      sinks,
      all_s: seconds.size === sinkTypes.size ? Math.round(allSeconds * 100) / 100 : null,
      // this process's CPU while delivering (the stage, the receiver, and on SQLite the database), per event and sink
      cpu_us_per_delivery: Math.round((cpu.user + cpu.system) / (count * sinkTypes.size)),
      load_avg: { start: loadAtStart, end: load() },
      machine,
      complete,
    }),
  );
  if (!complete) process.exitCode = 1;
} finally {
  // a run that failed before counting the stream still deletes it
  if (natsUsed) await streamMessagesThenDelete(values.nats, stream).catch(() => undefined);
  await receiver.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
