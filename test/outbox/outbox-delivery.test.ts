import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { type App, createApp } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { DirectoryStore } from '../../src/directory/directory-store.ts';
import { DeliveryStage, type DeliveryTiming } from '../../src/outbox/delivery-stage.ts';
import { recordEvents } from '../../src/outbox/outbox-writer.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../src/outbox/webhook-signature.ts';
import { doublingBackoff } from '../../src/runtime/backoff.ts';
import { decodeSeq } from '../../src/store/seq-codec.ts';
import { addSimulatorCorp, appOn, archiveOnce } from '../support/archive-harness.ts';
import type { Store } from '../../src/store/open-store.ts';
import { describeEachDialect } from '../support/databases.ts';
import { useSimulators } from '../support/simulators.ts';

const startSim = useSimulators();
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface Received {
  body: Record<string, any>;
  verified: boolean;
}

/** A webhook receiver that checks every signature with `secret`; `answer` picks each delivery's status. */
async function receiver(answer: (body: Record<string, any>) => number = () => 200) {
  const received: Received[] = [];
  const tries = new Map<number, number>();
  let secret = Buffer.alloc(0);
  const server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as Record<string, any>;
      tries.set(body.seq, (tries.get(body.seq) ?? 0) + 1);
      const verified = verifyWebhook(secret, req.headers[TIMESTAMP_HEADER] as string, req.headers[SIGNATURE_HEADER] as string, text, Math.floor(Date.now() / 1000));
      const status = answer(body);
      if (status === 200) received.push({ body, verified });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, tries, setSecret: (s: string) => (secret = Buffer.from(s)) };
}

/** appOn without media downloads: only the first test needs them (for media_done events). */
function appWithoutMedia(store: Store): App {
  return createApp(loadConfig({}, { WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' }, '/tmp'), store, Buffer.alloc(32, 3));
}

const FAST: Partial<DeliveryTiming> = { pollMs: 5, batch: 7, maxAttempts: 3, backoff: doublingBackoff(1, 4), leaseMs: 10_000, sendTimeoutMs: 2_000 };

function stageOf(app: App, timing: Partial<DeliveryTiming> = FAST): DeliveryStage {
  const { db, dialect, health } = app.store;
  return new DeliveryStage({ db, dialect, health, log: createLogger('silent'), secretOf: (s) => app.sinks.secretOf(s), now: Date.now }, timing);
}

/** Runs `stages` until `done()` holds (or 20 s pass), then stops them. */
async function deliverUntil(stages: DeliveryStage[], done: () => boolean | Promise<boolean>): Promise<void> {
  const ctrl = new AbortController();
  const running = stages.map((s) => s.run(ctrl.signal));
  for (const t0 = Date.now(); !(await done()) && Date.now() - t0 < 20_000;) await new Promise((r) => setTimeout(r, 10));
  ctrl.abort();
  await Promise.all(running);
  await Promise.all(stages.map((s) => s.close()));
}

describeEachDialect('event outbox and webhook delivery', ({ open }) => {
  it('archived messages reach a webhook once each, signed, in seq order, ids and metadata only; delivered events leave the outbox', async () => {
    const app = appOn(await open());
    const sim = await startSim({ messages: 20, seed: 'outbox' });
    await addSimulatorCorp(app, sim);
    const hook = await receiver();
    const added = await app.sinks.add({ corpid: sim.corp.corpid, type: 'webhook', url: hook.url, includeContent: false });
    hook.setSecret(added.generatedSecret!);
    await archiveOnce(app);

    const messages = await app.store.db.selectFrom('messages').select(['msgid', 'seq', 'msgtype']).where('corpid', '=', sim.corp.corpid).orderBy('seq').execute();
    expect(messages.length).toBe(20);
    const recalls = messages.filter((m) => m.msgtype === 'revoke').length;
    // the media stage of the run stored the files: each is an event too
    const files = await app.store.db.selectFrom('media').select(['msgid', 'slot']).where('state', 'in', ['done', 'unverified']).execute();
    expect(files.length).toBeGreaterThan(0);
    const total = 20 + recalls + files.length;
    expect(
      Number(
        (
          await app.store.db
            .selectFrom('event_outbox')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ).toBe(total);
    // two processes share the sink: the lease lets one deliver at a time, so nothing is sent twice or out of order
    await deliverUntil([stageOf(app), stageOf(app)], () => hook.received.length >= total);
    await new Promise((r) => setTimeout(r, 50));

    expect(hook.received.every((r) => r.verified)).toBe(true);
    const seqs = hook.received.map((r) => r.body.seq as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const delivered = hook.received.filter((r) => r.body.kind === 'message');
    expect(delivered.map((r) => r.body.data.msgid)).toEqual(messages.map((m) => m.msgid));
    expect(delivered.map((r) => r.body.data.seq)).toEqual(messages.map((m) => decodeSeq(m.seq).toString()));
    expect(delivered.every((r) => r.body.id === `${sim.corp.corpid}/${r.body.data.msgid}` && r.body.content === undefined)).toBe(true);
    expect(hook.received.filter((r) => r.body.kind === 'recall').length).toBe(recalls);
    const done = hook.received.filter((r) => r.body.kind === 'media_done').map((r) => `${r.body.data.msgid}/${r.body.data.slot}`);
    expect(done.sort()).toEqual(files.map((f) => `${f.msgid}/${f.slot}`).sort());
    expect(hook.received.length).toBe(total);

    const [summary] = await app.sinks.list();
    expect(summary).toMatchObject({ id: added.id, backlog: 0, deadLetters: 0, failures: 0 });
    const left = await app.store.db.selectFrom('event_outbox').select('id').execute();
    expect(left).toEqual([]);
  });

  it('a failing event is retried with backoff, then dead-lettered while delivery goes on; replay sends it; content is opt-in', async () => {
    const app = appWithoutMedia(await open());
    const sim = await startSim({ messages: 12, seed: 'outbox-dead' });
    await addSimulatorCorp(app, sim);
    let broken = true;
    const hook = await receiver((body) => (broken && body.seq === 4 ? 500 : 200));
    const added = await app.sinks.add({ corpid: sim.corp.corpid, type: 'webhook', url: hook.url, includeContent: true, secret: 'a-secret-of-the-receiver' });
    expect(added.generatedSecret).toBeUndefined();
    hook.setSecret('a-secret-of-the-receiver');
    await archiveOnce(app);
    const total = Number(
      (
        await app.store.db
          .selectFrom('event_outbox')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    expect(total).toBeGreaterThanOrEqual(12);

    await deliverUntil([stageOf(app)], () => hook.received.length >= total - 1);
    expect(hook.tries.get(4)).toBe(3);
    expect(hook.received.map((r) => r.body.seq)).toEqual([...Array(total).keys()].map((i) => i + 1).filter((s) => s !== 4));
    const msg = hook.received.find((r) => r.body.kind === 'message')!;
    const raw = await app.store.db.selectFrom('messages').select('raw').where('msgid', '=', msg.body.data.msgid).executeTakeFirstOrThrow();
    expect(msg.body.content).toEqual(JSON.parse(Buffer.from(raw.raw).toString('utf8')));
    expect((await app.sinks.list())[0]).toMatchObject({ backlog: 0, deadLetters: 1 });
    // the dead letter keeps its event
    expect((await app.store.db.selectFrom('event_outbox').select('seq').execute()).map((r) => Number(r.seq))).toEqual([4]);

    broken = false;
    expect(await app.sinks.replay(added.id)).toBe(1);
    await deliverUntil([stageOf(app)], () => hook.received.length >= total);
    expect(hook.received.at(-1)!.body.seq).toBe(4);
    expect((await app.sinks.list())[0]).toMatchObject({ backlog: 0, deadLetters: 0 });
  });

  it('events are written only for corps with a sink, in commit order, and directory changes are events', async () => {
    const app = appWithoutMedia(await open());
    const sim = await startSim({ messages: 5, seed: 'outbox-dir' });
    await addSimulatorCorp(app, sim);
    const { db, dialect } = app.store;
    const corpid = sim.corp.corpid;
    const directory = new DirectoryStore(db, dialect);
    await directory.upsertMember(corpid, { userid: 'u1', name: 'Ann' }, 'sync');
    await directory.upsertMember(corpid, { userid: 'u1', name: 'Anne' }, 'sync');
    expect(await db.selectFrom('event_outbox').select('id').execute()).toEqual([]);

    const hook = await receiver();
    const added = await app.sinks.add({ corpid, type: 'webhook', url: hook.url, includeContent: false });
    hook.setSecret(added.generatedSecret!);
    await directory.upsertMember(corpid, { userid: 'u1', name: 'Annie' }, 'event');
    await directory.renameUserId(corpid, 'u1', 'u2', 'event');
    await db.transaction().execute((trx) => recordEvents(trx, dialect, corpid, [{ kind: 'message', ref: 'm1', payload: { msgid: 'm1' } }], Date.now()));
    // the same message again adds nothing
    await db.transaction().execute((trx) => recordEvents(trx, dialect, corpid, [{ kind: 'message', ref: 'm1', payload: { msgid: 'm1' } }], Date.now()));

    await deliverUntil([stageOf(app)], () => hook.received.length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    expect(hook.received.map((r) => [r.body.kind, r.body.data.field ?? r.body.data.msgid, r.body.data.new ?? null])).toEqual([
      ['directory_change', 'name', 'Annie'],
      ['directory_change', 'userid', 'u2'],
      ['message', 'm1', null],
    ]);
  });
});
