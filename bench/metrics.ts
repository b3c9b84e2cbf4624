/**
 * Metrics scrape benchmark. Loads N messages (and their envelopes, as the decrypt stage leaves them)
 * over C corps with a mix of msgtypes, some media jobs, gaps and SDK host restarts, straight into an
 * empty database, then times the database snapshot a scrape reads (uncached, every round) and its
 * parts, and a cached scrape. Prints one JSON line:
 *   {messages, corps, db, snapshot_ms, message_count_ms, status_ms, cached_scrape_ms, body_bytes}, each _ms as {min, p50, p95, max}
 *
 *   npm run bench:metrics -- --messages 100000 [--corps 10] [--db URL] [--rounds 20]
 * With --db the database should be empty (a fresh database or schema).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ArchiveMetrics } from '../src/ops/archive-metrics.ts';
import { readMetricsSnapshot } from '../src/ops/metrics-snapshot.ts';
import { corpStatuses } from '../src/status/corp-status.ts';
import { openStore, type Store } from '../src/store/open-store.ts';
import { encodeSeq } from '../src/store/seq-codec.ts';
import type { MediaKind } from '../src/store/vocabulary.ts';
import { mediaRow } from '../test/support/media-rows.ts';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '100000' }, corps: { type: 'string', default: '10' }, db: { type: 'string' }, rounds: { type: 'string', default: '20' } },
});
const count = Number(values.messages);
const corpCount = Number(values.corps);
const rounds = Number(values.rounds);
if (!Number.isInteger(count) || count < 1000) throw new Error('--messages must be an integer of at least 1000');
if (!Number.isInteger(corpCount) || corpCount < 1 || corpCount > 1000) throw new Error('--corps must be an integer 1–1000');
const dir = mkdtempSync(join(tmpdir(), 'wa-bench-metrics-'));
const url = values.db ?? `sqlite:${join(dir, 'archive.db')}`;

const TYPES = ['text', 'text', 'text', 'text', 'image', 'voice', 'file', 'emotion', 'revoke', 'mixed', 'link', 'location'];
const NOW = Date.now();

async function load(store: Store): Promise<void> {
  const perCorp = Math.ceil(count / corpCount);
  for (let c = 0; c < corpCount; c++) {
    const corpid = `wwbench${c}`;
    const n = Math.min(perCorp, count - c * perCorp);
    await store.db
      .insertInto('cursors')
      .values({
        corpid,
        seq: encodeSeq(BigInt(n)),
        state: c === 0 ? 'retrying' : 'ok',
        last_error_code: null,
        last_error: null,
        last_pull_at: NOW,
        last_success_at: NOW,
        caught_up_at: NOW - 3600_000,
        newest_msgtime: NOW - 5000,
        decrypted_seq: encodeSeq(BigInt(n)),
        lease_owner: null,
        lease_until: null,
        updated_at: NOW,
      })
      .execute();
    for (let i = 0; i < n; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, n - i) }, (_, k) => i + k + 1);
      const msgtype = (s: number) => TYPES[s % TYPES.length]!;
      await store.db.transaction().execute(async (trx) => {
        await store.dialect.insertIgnoring(
          trx,
          'envelopes',
          batch.map((s) => ({
            corpid,
            msgid: `m${s}`,
            seq: encodeSeq(BigInt(s)),
            publickey_ver: 1,
            encrypt_random_key: 'x'.repeat(172),
            encrypt_chat_msg: 'y'.repeat(200),
            // about one in a thousand waits for a key
            state: s % 1000 === 0 ? 'waiting' : 'pending',
            reason: s % 1000 === 0 ? 'key_missing' : null,
            reason_code: s % 1000 === 0 ? 2 : null,
            reason_detail: null,
            attempts: 0,
            next_attempt_at: null,
            received_at: NOW - 60_000,
            updated_at: NOW - 60_000,
          })),
          ['corpid', 'msgid'],
        );
        await store.dialect.insertIgnoring(
          trx,
          'messages',
          batch
            .filter((s) => s % 1000 !== 0)
            .map((s) => ({
              corpid,
              msgid: `m${s}`,
              seq: encodeSeq(BigInt(s)),
              action: 'send',
              from_id: `u${s % 50}`,
              tolist: '[]',
              roomid: '',
              msgtime: NOW - (n - s) * 1000,
              msgtype: msgtype(s),
              conversation_key: `pair:u${s % 50}|v`,
              is_external: 0,
              is_updown: 0,
              known_type: 1,
              pre_msgid: null,
              raw: Buffer.from(JSON.stringify({ msgid: `m${s}`, msgtype: msgtype(s), text: { content: 'benchmark message body' } })),
              created_at: NOW,
            })),
          ['corpid', 'msgid'],
        );
        const media = batch.filter((s) => ['image', 'voice', 'file'].includes(msgtype(s)));
        if (media.length > 0)
          await store.dialect.insertIgnoring(
            trx,
            'media',
            media.map((s) =>
              mediaRow(corpid, `m${s}`, msgtype(s) as MediaKind, NOW, {
                state: s % 97 === 0 ? 'failed' : 'done',
                size_expected: 1000,
                bytes_done: 1000,
                attempts: 1,
                size: 1000,
                finished_at: NOW,
              }),
            ),
            ['corpid', 'msgid', 'slot'],
          );
      });
    }
    await store.db
      .insertInto('gaps')
      .values({ corpid, after_seq: encodeSeq(10n), next_seq: encodeSeq(15n), detected_at: NOW, note: 'bench', kind: 'jump', cursor_age_ms: 1000 })
      .execute();
    await store.db
      .insertInto('sdk_host_restarts')
      .values({ corpid, lane: 'media', cause: 'crash', signal: 'SIGSEGV', exit_code: null, operation: 'GetMediaData', rss_bytes: null, detail: 'bench', occurred_at: NOW })
      .execute();
  }
}

function stats(ms: number[]): { min: number; p50: number; p95: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 100) / 100;
  return { min: at(0), p50: at(0.5), p95: at(0.95), max: Math.round(sorted[sorted.length - 1]! * 100) / 100 };
}

async function timed(work: () => Promise<unknown>): Promise<number[]> {
  await work(); // warm the page cache and the statement cache
  const ms: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    await work();
    ms.push(performance.now() - t);
  }
  return ms;
}

const store = await openStore(url);
try {
  await load(store);
  const snapshot = await timed(() => readMetricsSnapshot(store.db, Date.now()));
  const messageCount = await timed(() =>
    store.db
      .selectFrom('messages')
      .select(['corpid', 'msgtype', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'msgtype'])
      .execute(),
  );
  const status = await timed(() => corpStatuses(store.db, Date.now()));
  const metrics = new ArchiveMetrics(store.db, { cacheMs: 60_000 });
  const first = await metrics.metricsText();
  const cached = await timed(() => metrics.metricsText());
  console.log(
    JSON.stringify({
      messages: count,
      corps: corpCount,
      db: store.dialect.name,
      snapshot_ms: stats(snapshot),
      message_count_ms: stats(messageCount),
      status_ms: stats(status),
      cached_scrape_ms: stats(cached),
      body_bytes: Buffer.byteLength(first.body),
    }),
  );
} finally {
  await store.close();
  if (process.env.BENCH_KEEP) console.error(url);
  else rmSync(dir, { recursive: true, force: true });
}
