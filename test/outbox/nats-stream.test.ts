import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { archiveEnv, spawnArchive } from '../support/archive-process.ts';
import { addSimulatorCorp, appOn } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';

const NATS_URL = process.env.TEST_NATS_URL;
const MESSAGES = 300;
/** the first run is killed once this many events are in the stream */
const KILL_AFTER = 30;
const startSim = useSimulators();

interface StreamEntry {
  subject: string;
  msgId: string;
  body: Record<string, any>;
}

/** Every message of a stream, in stream order. */
async function readStream(url: string, stream: string): Promise<StreamEntry[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    const total = (await jsm.streams.info(stream)).state.messages;
    const consumer = await jetstream(nc).consumers.get(stream);
    const out: StreamEntry[] = [];
    while (out.length < total) {
      const batch = await consumer.fetch({ max_messages: Math.min(1000, total - out.length), expires: 5_000 });
      for await (const m of batch) out.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') ?? '', body: m.json() });
    }
    return out;
  } finally {
    await nc.close();
  }
}

async function streamCount(url: string, stream: string): Promise<number> {
  const nc = await connect({ servers: url });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } catch {
    return 0;
  } finally {
    await nc.close();
  }
}

describeEachDialect('NATS JetStream sink', ({ dialect, url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-nats-'));
  const streams: string[] = [];
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    if (!NATS_URL || streams.length === 0) return;
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
  });

  // the kill test runs on SQLite and PostgreSQL; the outbox and its claims are covered on every dialect by outbox-delivery.test.ts
  it.skipIf(!NATS_URL || dialect === 'mysql')(
    'a run killed with SIGKILL mid-delivery, then run again: every message arrives once on its subject, in seq order, duplicates dropped by Nats-Msg-Id',
    async () => {
      const sim = await startSim({ messages: MESSAGES, seed: 'nats-kill' });
      const dbUrl = await url();
      const store = await openStore(dbUrl);
      const stream = `WA_TEST_${randomBytes(4).toString('hex')}`;
      streams.push(stream);
      try {
        const app = appOn(store);
        await addSimulatorCorp(app, sim, { limit: 30 });
        await app.sinks.add({ corpid: sim.corp.corpid, type: 'nats', url: NATS_URL!, stream, includeContent: false });
        const env = archiveEnv({ WECOM_ARCHIVE_DB: dbUrl, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_LOG_LEVEL: 'error', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' });

        const first = spawnArchive(['run', '--port', '0', '--poll-interval', '0.2'], env);
        let atKill = 0;
        for (const t0 = Date.now(); first.alive() && atKill < KILL_AFTER && Date.now() - t0 < 120_000;) {
          await new Promise((r) => setTimeout(r, 20));
          atKill = await streamCount(NATS_URL!, stream);
        }
        first.child.kill('SIGKILL');
        expect(await first.exited, first.log()).toBe(null);
        // killed while delivering: some events were out, not all
        expect(atKill).toBeGreaterThanOrEqual(KILL_AFTER);
        expect(atKill).toBeLessThan(MESSAGES);

        const again = spawnArchive(['run', '--once'], env);
        expect(await again.exited, again.log()).toBe(0);

        const messages = await store.db.selectFrom('messages').select(['msgid', 'seq', 'msgtype']).where('corpid', '=', sim.corp.corpid).orderBy('seq').execute();
        expect(messages.length).toBe(MESSAGES);
        const entries = await readStream(NATS_URL!, stream);
        const corp = sim.corp.corpid;
        const onMessage = entries.filter((e) => e.subject.startsWith(`wecom.${corp}.message.`));
        // the dedup window dropped what the killed run had sent but not recorded: one stream message per archived message
        expect(onMessage.length).toBe(MESSAGES);
        expect(new Set(onMessage.map((e) => e.msgId)).size).toBe(MESSAGES);
        expect(onMessage.map((e) => e.msgId)).toEqual(messages.map((m) => `${corp}/${m.msgid}`));
        expect(onMessage.map((e) => e.subject)).toEqual(messages.map((m) => `wecom.${corp}.message.${m.msgtype}`));
        expect(onMessage.map((e) => e.body.data.seq)).toEqual(messages.map((m) => decodeSeq(m.seq).toString()));
        const recalls = entries.filter((e) => e.subject === `wecom.${corp}.recall`);
        expect(recalls.length).toBe(messages.filter((m) => m.msgtype === 'revoke').length);
        // the run's directory sync reports the members and departments it finds for the first time
        const directory = entries.filter((e) => e.subject.startsWith(`wecom.${corp}.directory.`));
        expect(entries.length).toBe(onMessage.length + recalls.length + directory.length);
        // event seqs in stream order: per corp, in order
        const seqs = entries.map((e) => e.body.seq as number);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(entries.map((e) => e.msgId)).size).toBe(entries.length);
        expect(entries.every((e) => e.body.content === undefined)).toBe(true);
        const [summary] = await app.sinks.list();
        expect(summary).toMatchObject({ backlog: 0, deadLetters: 0 });
      } finally {
        await store.close();
      }
    },
    300_000,
  );
});
