/**
 * The alert stage on a real database: each rule opens an incident once and resolves it once, each
 * is announced once and its resolution once (also across a restart and with two evaluators on one
 * database), sends are throttled per rule and corp and capped per hour, a failed send is tried
 * again later, and the markdown reaches the simulator's group robot.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import type { AlertNotice } from '../../src/ops/alerts/alert-message.ts';
import { AlertEvaluator, type AlertEvaluatorOptions } from '../../src/ops/alerts/alert-evaluator.ts';
import { AlertSendError, type AlertTarget, robotTarget, webhookTarget } from '../../src/ops/alerts/alert-targets.ts';
import type { Store } from '../../src/store/open-store.ts';
import { startArchiveProcess } from '../../src/app/archive-process.ts';
import { appWithEnv, eventually } from '../callbacks/harness.ts';
import { addSimulatorCorp, FAST_TIMING } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { deadOwnerHere } from '../support/dead-owner.ts';
import { type RunningSimulator, startSimulator as startSharedSimulator } from '../../src/simulator/server.ts';
import { useSimulators } from '../support/simulators.ts';
import { insertGap, insertMediaJob, insertRestart, insertWaitingEnvelope } from './ops-rows.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

const startSimulator = useSimulators();
/** one simulator for every dialect's robot test (started on first use): its start is the slow part */
let shared: Promise<RunningSimulator> | undefined;
afterAll(async () => (await shared)?.close());
const HOUR = 3600_000;
const T0 = Date.UTC(2026, 11, 1, 8, 0, 0);

/** A target that keeps what it was sent; `failNext` makes its next sends throw. */
function recorder(): AlertTarget & { notices: AlertNotice[]; failNext: number } {
  const t = {
    name: 'recorder',
    notices: [] as AlertNotice[],
    failNext: 0,
    async send(n: AlertNotice) {
      if (t.failNext > 0) {
        t.failNext--;
        throw new Error('recorder: down');
      }
      t.notices.push(n);
    },
  };
  return t;
}

function evaluator(store: Store, clock: { now: number }, targets: AlertTarget[], options: Partial<AlertEvaluatorOptions> = {}): AlertEvaluator {
  return new AlertEvaluator(store.db, store.dialect, createLogger('silent'), {
    hoursLeft: 24,
    mediaFailures: 1,
    waitingEnvelopes: 1,
    sdkRestarts: 1,
    targets,
    intervalMs: 1000,
    throttleMs: 0,
    maxPerHour: 100,
    retryBaseMs: 60_000,
    now: () => clock.now,
    ...options,
  });
}

async function addCorp(store: Store, corpid: string): Promise<void> {
  await addOfflineCorp(appWithEnv(store), corpid);
  // caught up just now: plenty of the window left
  await store.db.updateTable('cursors').set({ caught_up_at: T0 }).where('corpid', '=', corpid).execute();
}

const summary = (notices: AlertNotice[]) => notices.map((n) => `${n.rule}/${n.corpid}/${n.state}/${n.incident}`);

describeEachDialect('alerts', ({ open }) => {
  it('announces each rule once per incident and once when it resolves', async () => {
    const store = await open();
    const db = store.db;
    const clock = { now: T0 };
    await addCorp(store, 'wwalert');
    await addCorp(store, 'wwcalm');
    const target = recorder();
    const e = evaluator(store, clock, [target]);
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 0, sent: 0, failed: 0 });

    // every rule's condition, for wwalert only; thresholds are 1, so one of each is not enough
    clock.now = T0 + 100 * HOUR; // 20 hours left since the catch-up at T0
    await db.updateTable('cursors').set({ state: 'stopped', last_error_code: 10009, last_error: 'untrusted IP' }).where('corpid', '=', 'wwalert').execute();
    await db.updateTable('cursors').set({ caught_up_at: clock.now }).where('corpid', '=', 'wwcalm').execute();
    await insertGap(db, 'wwalert', 10n, 20n, 'loss', clock.now - 60_000);
    await insertGap(db, 'wwcalm', 10n, 20n, 'jump', clock.now - 60_000);
    for (const i of [1, 2]) await insertMediaJob(db, 'wwalert', `m${i}`, 'failed', null, clock.now - 60_000);
    await insertMediaJob(db, 'wwcalm', 'm1', 'failed', null, clock.now - 60_000);
    for (const i of [1, 2]) await insertWaitingEnvelope(db, 'wwalert', `w${i}`, BigInt(50 + i), 'key_missing', clock.now);
    for (const _i of [1, 2]) await insertRestart(db, 'wwalert', 'decrypt', 'crash', clock.now - 60_000);
    await insertRestart(db, 'wwalert', 'decrypt', 'crash', clock.now - 2 * HOUR); // older than the hour: not counted

    expect(await e.evaluate()).toEqual({ opened: 6, resolved: 0, sent: 6, failed: 0 });
    expect(summary(target.notices).sort()).toEqual([
      'corp_stopped/wwalert/firing/1',
      'envelopes_waiting/wwalert/firing/1',
      'hours_left/wwalert/firing/1',
      'media_failures/wwalert/firing/1',
      'new_gap/wwalert/firing/1',
      'sdk_restarts/wwalert/firing/1',
    ]);
    expect(target.notices.find((n) => n.rule === 'hours_left')!.detail).toContain('20 hours left');
    expect(target.notices.find((n) => n.rule === 'corp_stopped')!.detail).toContain('code 10009');

    // still true: nothing more, in this evaluator or in a new one (a restart)
    clock.now += 60_000;
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 0, sent: 0, failed: 0 });
    expect(await evaluator(store, clock, [target]).evaluate()).toEqual({ opened: 0, resolved: 0, sent: 0, failed: 0 });
    expect(target.notices).toHaveLength(6);

    // everything is fixed
    await db.updateTable('cursors').set({ state: 'ok', caught_up_at: clock.now }).where('corpid', '=', 'wwalert').execute();
    await db.updateTable('envelopes').set({ state: 'done' }).execute();
    clock.now += 2 * HOUR; // the gap, the failures and the restarts are older than an hour
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 6, sent: 6, failed: 0 });
    expect(summary(target.notices.slice(6)).sort()).toEqual([
      'corp_stopped/wwalert/resolved/1',
      'envelopes_waiting/wwalert/resolved/1',
      'hours_left/wwalert/resolved/1',
      'media_failures/wwalert/resolved/1',
      'new_gap/wwalert/resolved/1',
      'sdk_restarts/wwalert/resolved/1',
    ]);
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 0, sent: 0, failed: 0 });

    // a second incident of one rule is a new incident
    await db.updateTable('cursors').set({ state: 'stopped' }).where('corpid', '=', 'wwalert').execute();
    expect(await e.evaluate()).toMatchObject({ opened: 1, sent: 1 });
    expect(summary(target.notices.slice(12))).toEqual(['corp_stopped/wwalert/firing/2']);
  });

  it('throttles per rule and corp, caps the hour, and retries a failed send', async () => {
    const store = await open();
    const db = store.db;
    const clock = { now: T0 };
    await addCorp(store, 'wwthrottle');
    const target = recorder();
    const e = evaluator(store, clock, [target], { throttleMs: 10 * 60_000, maxPerHour: 2 });

    await db.updateTable('cursors').set({ state: 'stopped' }).execute();
    await e.evaluate();
    expect(summary(target.notices)).toEqual(['corp_stopped/wwthrottle/firing/1']);
    // resolved a minute later: the resolution waits for the throttle
    clock.now += 60_000;
    await db.updateTable('cursors').set({ state: 'ok' }).execute();
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 1, sent: 0, failed: 0 });
    clock.now += 8 * 60_000;
    expect((await e.evaluate()).sent).toBe(0);
    clock.now += 60_000;
    expect((await e.evaluate()).sent).toBe(1);
    expect(summary(target.notices)).toEqual(['corp_stopped/wwthrottle/firing/1', 'corp_stopped/wwthrottle/resolved/1']);

    // the hour's cap (2) is reached: a third alert waits until the first send is an hour old
    clock.now += 60_000;
    for (const i of [1, 2]) await insertWaitingEnvelope(db, 'wwthrottle', `w${i}`, BigInt(50 + i), 'key_missing', clock.now);
    expect(await e.evaluate()).toEqual({ opened: 1, resolved: 0, sent: 0, failed: 0 });
    clock.now = T0 + HOUR + 1;
    expect((await e.evaluate()).sent).toBe(1);
    expect(summary(target.notices).at(-1)).toBe('envelopes_waiting/wwthrottle/firing/1');

    // a target that fails: tried again after the backoff (60 s), then sent once
    await db.updateTable('cursors').set({ state: 'stopped' }).execute();
    target.failNext = 1;
    clock.now += HOUR;
    expect(await e.evaluate()).toEqual({ opened: 1, resolved: 0, sent: 0, failed: 1 });
    clock.now += 30_000;
    expect((await e.evaluate()).sent).toBe(0);
    clock.now += 31_000;
    expect((await e.evaluate()).sent).toBe(1);
    expect(summary(target.notices).at(-1)).toBe('corp_stopped/wwthrottle/firing/2');
    const rows = await db.selectFrom('alert_sends').select(['rule', 'state', 'incident']).orderBy('id').execute();
    expect(rows.map((r) => `${r.rule}/${r.state}/${r.incident}`)).toEqual([
      'corp_stopped/firing/1',
      'corp_stopped/resolved/1',
      'envelopes_waiting/firing/1',
      'corp_stopped/firing/2',
    ]);
  });

  it('sends at once an alert whose sender died on this host, not one that a live process elsewhere holds', async () => {
    const store = await open();
    const clock = { now: T0 };
    await addCorp(store, 'wwgone');
    await addCorp(store, 'wwheld');
    await store.db.updateTable('cursors').set({ state: 'stopped' }).execute();
    const target = recorder();
    const e = evaluator(store, clock, [target]);
    // both incidents open and wait for a try again after a failed send
    target.failNext = 2;
    expect(await e.evaluate()).toEqual({ opened: 2, resolved: 0, sent: 0, failed: 2 });
    clock.now += 61_000;
    const hold = (corpid: string, owner: string) =>
      store.db
        .updateTable('alert_incidents')
        .set({ lease_owner: owner, lease_until: clock.now + HOUR })
        .where('corpid', '=', corpid)
        .execute();
    await hold('wwgone', deadOwnerHere());
    await hold('wwheld', 'far-away-host/1234/0123456789ab');
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 0, sent: 1, failed: 0 });
    expect(summary(target.notices)).toEqual(['corp_stopped/wwgone/firing/1']);
    clock.now += HOUR + 1;
    expect(await e.evaluate()).toEqual({ opened: 0, resolved: 0, sent: 1, failed: 0 });
    expect(summary(target.notices)).toEqual(['corp_stopped/wwgone/firing/1', 'corp_stopped/wwheld/firing/1']);
  });

  it('sends each alert once with two evaluators on one database, as markdown to the group robot', async () => {
    const store = await open();
    shared ??= startSharedSimulator({ messages: 0 });
    const sim = await shared;
    // a new minute for the robot's rate limit; what earlier dialects sent stays in its list
    sim.advanceClock(61_000);
    const before = sim.api.robot.received.length;
    const clock = { now: T0 };
    await addCorp(store, 'wwtwo');
    await addCorp(store, 'wwthree');
    const robot = robotTarget(`${sim.url}/cgi-bin/webhook/send?key=${sim.api.robot.key}`);
    const a = evaluator(store, clock, [robot]);
    const b = evaluator(store, clock, [robot]);
    await store.db.updateTable('cursors').set({ state: 'stopped' }).execute();
    for (let round = 0; round < 3; round++) await Promise.all([a.evaluate(), b.evaluate()]);
    await store.db.updateTable('cursors').set({ state: 'ok' }).execute();
    clock.now += 60_000;
    for (let round = 0; round < 3; round++) await Promise.all([a.evaluate(), b.evaluate()]);

    const received = sim.api.robot.received.slice(before);
    expect(received).toHaveLength(4);
    expect(received.every((m) => m.msgtype === 'markdown')).toBe(true);
    const firing = received.filter((m) => m.content.includes('ALERT'));
    expect(firing.map((m) => /corp: (\w+)/.exec(m.content)![1]).sort()).toEqual(['wwthree', 'wwtwo']);
    expect(firing[0]!.content).toContain('Corp stopped on a configuration error');
    expect(firing[0]!.content).toContain('rule: corp_stopped (incident 1)');
    expect(received.filter((m) => m.content.includes('RESOLVED'))).toHaveLength(2);
    expect(
      Number(
        (
          await store.db
            .selectFrom('alert_sends')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
    ).toBe(4);

    // a wrong key: the robot answers 93000 and the alert is kept for another try
    const wrong = evaluator(store, clock, [robotTarget(`${sim.url}/cgi-bin/webhook/send?key=wrong`)]);
    await store.db.updateTable('cursors').set({ state: 'stopped' }).where('corpid', '=', 'wwtwo').execute();
    expect(await wrong.evaluate()).toEqual({ opened: 1, resolved: 0, sent: 0, failed: 1 });
    expect(sim.api.robot.received).toHaveLength(before + 4);
    const row = await store.db.selectFrom('alert_incidents').selectAll().where('corpid', '=', 'wwtwo').executeTakeFirstOrThrow();
    expect({ notified: row.notified, failures: row.failures }).toEqual({ notified: 'resolved', failures: 1 });
  });
});

it('answers the robot webhook as WeCom does', async () => {
  const sim = await startSimulator({ messages: 0 });
  const post = async (key: string, body: unknown) =>
    (await fetch(`${sim.url}/cgi-bin/webhook/send?key=${key}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json();
  const key = sim.api.robot.key;
  expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(await post(key, { msgtype: 'markdown', markdown: { content: '**hi**' } })).toEqual({ errcode: 0, errmsg: 'ok' });
  expect(await post('nope', { msgtype: 'markdown', markdown: { content: 'x' } })).toMatchObject({ errcode: 93000 });
  expect(await post(key, { msgtype: 'image', image: {} })).toMatchObject({ errcode: 40008 });
  expect(await post(key, { msgtype: 'markdown', markdown: { content: '' } })).toMatchObject({ errcode: 44004 });
  expect(await post(key, { msgtype: 'markdown', markdown: { content: 'x'.repeat(4097) } })).toMatchObject({ errcode: 40058 });
  const control = await (await fetch(`${sim.url}/control/robot`)).json();
  expect(control).toEqual({ messages: [{ msgtype: 'markdown', content: '**hi**', at: expect.any(Number) }] });
  expect(JSON.stringify(control)).not.toContain(key);
  for (let i = 1; i < 20; i++) expect(await post(key, { msgtype: 'text', text: { content: `n${i}` } })).toMatchObject({ errcode: 0 });
  expect(await post(key, { msgtype: 'text', text: { content: 'one too many' } })).toMatchObject({ errcode: 45009 });
});

describeEachDialect('alerts in a running archive', ({ open, dialect }) => {
  // the stage's wiring is the same on every database; the evaluator's SQL is covered above on each
  it.skipIf(dialect !== 'sqlite')('starts the alert stage with the pulls: a corp stopped on 10009 reaches the group robot', async () => {
    const sim = await startSimulator({ messages: 0, seed: 'alert-e2e', corpid: 'wwe2e', faults: ['chatdata:10009x*'] });
    const app = appWithEnv(await open(), { WECOM_ARCHIVE_ALERT_ROBOT_URL: `${sim.url}/cgi-bin/webhook/send?key=${sim.api.robot.key}`, WECOM_ARCHIVE_ALERT_INTERVAL_S: '1' });
    await addSimulatorCorp(app, sim);
    const running = await startArchiveProcess(app, createLogger('silent'), { archive: { once: false, timing: FAST_TIMING } });
    const stop = new AbortController();
    const run = running.run(stop.signal);
    try {
      await eventually(async () => sim.api.robot.received.length > 0, 20_000, 'the robot to receive the alert');
    } finally {
      stop.abort();
      await run;
      await running.close();
    }
    expect(sim.api.robot.received).toHaveLength(1);
    expect(sim.api.robot.received[0]!.content).toContain('corp: wwe2e');
    expect(sim.api.robot.received[0]!.content).toContain('rule: corp_stopped (incident 1)');
    expect(sim.api.robot.received[0]!.content).toContain('code 10009');
  });
});

it('posts an alert as JSON to a generic webhook, and fails on a non-2xx answer without naming the URL', async () => {
  const bodies: unknown[] = [];
  let status = 204;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ type: req.headers['content-type'], json: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=hook-secret`;
    const notice: AlertNotice = { rule: 'new_gap', corpid: 'wwhook', state: 'resolved', incident: 3, detail: '1 seq gap(s)', openedAt: T0, resolvedAt: T0 + HOUR };
    await webhookTarget(url).send(notice, T0 + HOUR + 5);
    expect(bodies).toEqual([
      {
        type: 'application/json',
        json: {
          source: 'wecom-archive',
          rule: 'new_gap',
          title: 'Data may have been lost (seq gap)',
          corpid: 'wwhook',
          state: 'resolved',
          incident: 3,
          detail: '1 seq gap(s)',
          openedAt: '2026-12-01T08:00:00.000Z',
          resolvedAt: '2026-12-01T09:00:00.000Z',
          sentAt: '2026-12-01T09:00:00.005Z',
        },
      },
    ]);
    status = 500;
    const err = await webhookTarget(url)
      .send(notice, T0)
      .catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(AlertSendError);
    expect((err as Error).message).toBe('webhook: HTTP 500');
    // the robot's own error: HTTP 200 with a non-JSON body is not success either
    status = 200;
    expect(
      (
        (await robotTarget(url)
          .send(notice, T0)
          .catch((e: unknown) => e)) as Error
      ).message,
    ).toBe('robot: HTTP 200');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
