/**
 * GET /metrics on a small fixture archive: the text parses as Prometheus' exposition format, every
 * per-corp family carries the fixture's values, a registered event-stream source shows up, the
 * request histogram counts the requests served, and a token, once set, is required.
 */
import { afterEach, expect, it } from 'vitest';
import { type HttpServer, startHttpServer } from '../../src/api/http-server.ts';
import { startArchiveProcess } from '../../src/app/archive-process.ts';
import { createLogger } from '../../src/app/logger.ts';
import { metricsAccess } from '../../src/ops/metrics-access.ts';
import { createOpsEndpoints } from '../../src/ops/ops-endpoints.ts';
import type { Store } from '../../src/store/open-store.ts';
import { appWithEnv, rawRequest } from '../callbacks/harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { messageRow } from '../support/message-rows.ts';
import { insertCursor, insertGap, insertInboxEvent, insertMediaJob, insertRestart, insertWaitingEnvelope } from './ops-rows.ts';
import { addOfflineCorp } from '../support/corp-rows.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
const servers: HttpServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * A small parser of Prometheus' text format: HELP/TYPE lines and `name{a="b",…} value` samples; anything
 * else fails the test. prom-client writes NaN as `Nan` (the event-loop lag before its first sample, a
 * matter of timing); Prometheus reads either.
 */
function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*$/.test(line)) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/.exec(line);
    if (!sample) throw new Error(`not Prometheus text: ${line}`);
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) labels[m[1]!] = m[2]!;
    samples.push({ name: sample[1]!, labels, value: Number(sample[3]) });
  }
  return { types, samples };
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function fixture(store: Store, now: number): Promise<void> {
  const db = store.db;
  await insertCursor(db, 'wwmetrics', { caughtUpAt: now - 2 * 3600_000, newestMsgtime: now - 30_000 });
  await insertCursor(db, 'wwstopped', { state: 'stopped', lastError: 'untrusted IP' });
  const types = ['text', 'text', 'text', 'image', 'voice'];
  await db
    .insertInto('messages')
    .values(types.map((msgtype, i) => messageRow({ corpid: 'wwmetrics', msgid: `m${i}`, seq: BigInt(i + 1), msgtype })))
    .execute();
  await insertWaitingEnvelope(db, 'wwmetrics', 'w1', 90n, 'key_missing', now);
  await insertWaitingEnvelope(db, 'wwmetrics', 'w2', 91n, 'key_missing', now);
  await insertWaitingEnvelope(db, 'wwmetrics', 'w3', 92n, 'rsa_failed', now);
  await insertGap(db, 'wwmetrics', 10n, 15n, 'loss', now);
  await insertGap(db, 'wwmetrics', 20n, 22n, 'jump', now);
  await insertGap(db, 'wwmetrics', 30n, 40n, 'jump', now);
  await insertRestart(db, 'wwmetrics', 'media', 'crash', now);
  await insertRestart(db, 'wwmetrics', 'media', 'crash', now);
  await insertRestart(db, 'wwmetrics', 'chat', 'hang', now);
  await insertMediaJob(db, 'wwmetrics', 'm3', 'done', 1234, now);
  await insertMediaJob(db, 'wwmetrics', 'm4', 'failed', null, now);
  await insertInboxEvent(db, 'wwmetrics', 'a', 'pending', now);
  await insertInboxEvent(db, 'wwmetrics', 'b', 'failed', now);
  await db
    .insertInto('dir_sync_state')
    .values({
      corpid: 'wwmetrics',
      part: 'members',
      last_started_at: now - 600_000,
      last_success_at: now - 600_000,
      last_error_code: null,
      last_error: null,
      items: 3,
      duration_ms: 5,
      watermark: null,
      updated_at: now,
    })
    .execute();
}

it('lets /metrics through by token or, without one, by loopback only', () => {
  expect(metricsAccess(undefined, undefined, '127.0.0.1')).toEqual({ ok: true });
  expect(metricsAccess(undefined, `Bearer ${TOKEN}`, '192.0.2.7')).toMatchObject({ ok: false, status: 403, error: 'METRICS_LOOPBACK_ONLY' });
  expect(metricsAccess(TOKEN, `Bearer ${TOKEN}`, '192.0.2.7')).toEqual({ ok: true });
  for (const header of [undefined, '', 'Bearer', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, TOKEN])
    expect(metricsAccess(TOKEN, header, '127.0.0.1'), String(header)).toMatchObject({ ok: false, status: 401, error: 'METRICS_TOKEN_REQUIRED' });
});

describeEachDialect('GET /metrics', ({ open }) => {
  it('exposes the per-corp figures, the event stream, request durations and process metrics; caches; takes a token', async () => {
    const store = await open();
    const now = Date.now();
    await fixture(store, now);
    const app = appWithEnv(store);
    const log = createLogger('silent');
    const ops = createOpsEndpoints(store, app.config.ops, log, { metricsCacheMs: 0 });
    ops.metrics.registerEventStream({ eventStreamStats: async () => [{ corpid: 'wwmetrics', sink: 'crm', backlog: 7, failures: 3, deadLetters: 1 }] });
    ops.metrics.registerEventStream({
      eventStreamStats: async () => {
        throw new Error('outbox unreadable');
      },
    });
    const server = await startHttpServer(app, 0, log, '127.0.0.1', { ops });
    servers.push(server);
    const base = `http://127.0.0.1:${server.port}`;
    expect((await rawRequest(base, 'GET', '/healthz')).status).toBe(200);
    // a path no route serves (a GET of one would be a page of the web UI)
    expect((await rawRequest(base, 'POST', '/no/such/page')).status).toBe(404);

    const res = await rawRequest(base, 'GET', '/metrics');
    expect(res.status).toBe(200);
    const { types, samples } = parseExposition(res.body);
    const m = (name: string, labels: Record<string, string> = {}) => value(samples, `wecom_archive_${name}`, labels);
    const corp = { corpid: 'wwmetrics' };

    expect(m('lag_seconds', corp)).toBeGreaterThanOrEqual(30);
    expect(m('lag_seconds', corp)).toBeLessThan(60);
    // caught up two hours ago: 118 hours of the 120 are left
    expect(Math.round(m('window_remaining_seconds', corp)! / 3600)).toBe(118);
    expect(m('window_remaining_seconds', { corpid: 'wwstopped' })).toBeUndefined();
    expect(m('pull_state', { corpid: 'wwstopped', state: 'stopped' })).toBe(1);
    expect(m('pull_state', { corpid: 'wwstopped', state: 'ok' })).toBe(0);
    expect(m('pull_state', { corpid: 'wwmetrics', state: 'ok' })).toBe(1);
    expect(m('gaps_total', { ...corp, kind: 'loss' })).toBe(1);
    expect(m('gaps_total', { ...corp, kind: 'jump' })).toBe(2);
    expect(m('seqs_skipped_total', { ...corp, kind: 'loss' })).toBe(4);
    expect(m('seqs_skipped_total', { ...corp, kind: 'jump' })).toBe(1 + 9);
    expect(m('envelopes_waiting', { ...corp, reason: 'key_missing' })).toBe(2);
    expect(m('envelopes_waiting', { ...corp, reason: 'rsa_failed' })).toBe(1);
    expect(m('messages_total', { ...corp, msgtype: 'text' })).toBe(3);
    expect(m('messages_total', { ...corp, msgtype: 'image' })).toBe(1);
    expect(m('messages_total', { ...corp, msgtype: 'voice' })).toBe(1);
    expect(m('media_jobs', { ...corp, state: 'done' })).toBe(1);
    expect(m('media_jobs', { ...corp, state: 'failed' })).toBe(1);
    expect(m('media_jobs', { ...corp, state: 'pending' })).toBe(0);
    expect(m('media_stored_bytes', corp)).toBe(1234);
    expect(m('sdk_host_restarts_total', { ...corp, lane: 'media', cause: 'crash' })).toBe(2);
    expect(m('sdk_host_restarts_total', { ...corp, lane: 'chat', cause: 'hang' })).toBe(1);
    expect(m('callback_inbox', { ...corp, state: 'pending' })).toBe(1);
    expect(m('callback_inbox', { ...corp, state: 'failed' })).toBe(1);
    expect(Math.round(m('directory_sync_age_seconds', { ...corp, part: 'members' })!)).toBeGreaterThanOrEqual(600);
    expect(m('directory_sync_age_seconds', { ...corp, part: 'members' })).toBeLessThan(660);
    expect(m('event_backlog', { ...corp, sink: 'crm' })).toBe(7);
    expect(m('event_head_failures', { ...corp, sink: 'crm' })).toBe(3);
    expect(m('event_dead_letters', { ...corp, sink: 'crm' })).toBe(1);
    expect(m('metrics_source_errors_total', { source: 'event_stream' })).toBe(1);
    expect(m('database_up')).toBe(1);
    // the requests before this one, by route template
    expect(m('http_request_duration_seconds_count', { route: '/healthz', method: 'GET', status: '200' })).toBe(1);
    expect(m('http_request_duration_seconds_count', { route: 'unmatched', method: 'POST', status: '404' })).toBe(1);
    expect(samples.some((s) => s.labels.route === '/no/such/page')).toBe(false);
    expect(types.get('wecom_archive_messages_total')).toBe('counter');
    expect(types.get('wecom_archive_http_request_duration_seconds')).toBe('histogram');
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(value(samples, 'process_resident_memory_bytes', {})).toBeGreaterThan(0);
    for (const name of types.keys()) if (name.startsWith('wecom_archive_')) expect(name).toMatch(/^wecom_archive_[a-z_]+$/);

    // a message stored later shows at the next snapshot (no cache here)
    await store.db
      .insertInto('messages')
      .values(messageRow({ corpid: 'wwmetrics', msgid: 'm9', seq: 9n, msgtype: 'text' }))
      .execute();
    const again = parseExposition((await rawRequest(base, 'GET', '/metrics')).body).samples;
    expect(value(again, 'wecom_archive_messages_total', { ...corp, msgtype: 'text' })).toBe(4);
    expect(value(again, 'wecom_archive_http_request_duration_seconds_count', { route: '/metrics', method: 'GET', status: '200' })).toBe(1);

    // one snapshot serves every scrape of the cache period
    const cached = createOpsEndpoints(store, app.config.ops, log, { metricsCacheMs: 60_000 });
    expect((await cached.metrics.metricsText()).body).toContain('wecom_archive_pull_state{corpid="wwmetrics",state="ok"} 1');
    await store.db.updateTable('cursors').set({ state: 'stopped' }).where('corpid', '=', 'wwmetrics').execute();
    expect((await cached.metrics.metricsText()).body).toContain('wecom_archive_pull_state{corpid="wwmetrics",state="ok"} 1');
    expect((await ops.metrics.metricsText()).body).toContain('wecom_archive_pull_state{corpid="wwmetrics",state="stopped"} 1');

    // once a token is set, it is required
    const tokenApp = appWithEnv(store, { WECOM_ARCHIVE_METRICS_TOKEN: TOKEN });
    const guarded = await startHttpServer(tokenApp, 0, log, '127.0.0.1', { ops: createOpsEndpoints(store, tokenApp.config.ops, log) });
    servers.push(guarded);
    const guardedBase = `http://127.0.0.1:${guarded.port}`;
    const none = await rawRequest(guardedBase, 'GET', '/metrics');
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error).toBe('METRICS_TOKEN_REQUIRED');
    expect(none.body).not.toContain('wecom_archive');
    expect((await rawRequest(guardedBase, 'GET', '/metrics', undefined, { authorization: `Bearer ${TOKEN}0` })).status).toBe(401);
    const ok = await rawRequest(guardedBase, 'GET', '/metrics', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('# TYPE wecom_archive_database_up gauge');
  });
});

describeEachDialect('GET /metrics in an archive process', ({ open }) => {
  it("reports each configured sink's backlog, head failures and dead letters from the event stream itself", async () => {
    const store = await open();
    await fixture(store, Date.now());
    const app = appWithEnv(store);
    await addOfflineCorp(app, 'wwsinks');
    const { id } = await app.sinks.add({ corpid: 'wwsinks', type: 'webhook', url: 'http://127.0.0.1:9/hook', includeContent: false });
    const process = await startArchiveProcess(app, createLogger('silent'), { listen: { host: '127.0.0.1', port: 0 } });
    try {
      const res = await rawRequest(`http://127.0.0.1:${process.server.port}`, 'GET', '/metrics');
      expect(res.status).toBe(200);
      const { samples } = parseExposition(res.body);
      const labels = { corpid: 'wwsinks', sink: String(id) };
      expect(value(samples, 'wecom_archive_event_backlog', labels)).toBe(0);
      expect(value(samples, 'wecom_archive_event_head_failures', labels)).toBe(0);
      expect(value(samples, 'wecom_archive_event_dead_letters', labels)).toBe(0);
    } finally {
      await process.close();
    }
  });
});
