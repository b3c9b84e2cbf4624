import type { Kysely } from 'kysely';
import { emptyMediaStatus, mediaStatuses, type MediaStatus } from '../media/jobs/media-status.ts';
import { CallbackInbox, type InboxSummary } from '../callbacks/callback-inbox.ts';
import { directoryStatuses, emptyDirectoryStatus, type DirectoryStatus } from '../directory/directory-status.ts';
import { liveHolder, type PullLeaseHolder } from '../pull/pull-lease.ts';
import { freshEnvelopes } from '../decrypt/envelope-repository.ts';
import { type GapKind, WECOM_RETENTION_MS } from '../pull/gap-kind.ts';
import type { PullState } from '../pull/retry-policy.ts';
import { type WaitingGroup, waitingGroups } from '../decrypt/waiting-envelopes.ts';
import type { Database, SdkHostRestart } from '../store/schema.ts';
import { decodeSeq } from '../store/seq-codec.ts';
import { indexBacklog } from '../search/index-repository.ts';

export type { WaitingGroup } from '../decrypt/waiting-envelopes.ts';

export interface CorpStatus {
  corpid: string;
  configured: boolean;
  cursorSeq: string;
  state: PullState;
  lastErrorCode: number | null;
  lastError: string | null;
  messages: number;
  unknownTypes: number;
  pending: number;
  /** envelopes that wait, by reason and code, with their ages and how they get another try */
  waiting: WaitingGroup[];
  /** jumps in seq that may have lost data: the cursor was older than WeCom's window, or near its edge */
  gaps: GapSummary;
  /** jumps in seq while the cursor was well inside the window: nothing lost, not an alarm */
  seqJumps: GapSummary;
  lastSuccessAt: number | null;
  /** the process that holds the corp's pull (`host/pid/random`) and until when; null: none holds it */
  pullLease: PullLeaseHolder | null;
  /** newest archived message time */
  newestMsgtime: number | null;
  /** how far the newest archived message is behind now */
  lagMs: number | null;
  /**
   * hours before data not yet pulled starts to fall out of WeCom's 5-day window: everything older
   * than the last catch-up is stored, so the risk clock started then. null: never caught up yet.
   */
  hoursLeft: number | null;
  /** stored messages the search index has not taken in yet (how far behind it is) */
  notIndexed: number;
  /** native SDK host processes replaced after a crash, hang or memory ceiling */
  sdkHostRestarts: {
    count: number;
    latest: { lane: SdkHostRestart['lane']; cause: SdkHostRestart['cause']; signal: string | null; operation: string | null; detail: string; at: number } | null;
  };
  /** media jobs by state, bytes stored, voice copies, latest failures */
  media: MediaStatus;
  /** stored callback events: pending, failed (with why), the newest delivery */
  callbacks: InboxSummary;
  /** directory counts, freshness of each sync part, unresolved ids */
  directory: DirectoryStatus;
}

export interface GapSummary {
  count: number;
  /** the newest five; cursorAgeMs: how old the cursor was (null: not known) */
  latest: Array<{ afterSeq: string; nextSeq: string; detectedAt: number; cursorAgeMs: number | null; note: string }>;
}

async function gapSummary(db: Kysely<Database>, corpid: string, kind: GapKind, count: number): Promise<GapSummary> {
  if (count === 0) return { count, latest: [] };
  const rows = await db
    .selectFrom('gaps')
    .select(['after_seq', 'next_seq', 'detected_at', 'cursor_age_ms', 'note'])
    .where('corpid', '=', corpid)
    .where('kind', '=', kind)
    .orderBy('id', 'desc')
    .limit(5)
    .execute();
  return {
    count,
    latest: rows.map((g) => ({
      afterSeq: decodeSeq(g.after_seq).toString(),
      nextSeq: decodeSeq(g.next_seq).toString(),
      detectedAt: Number(g.detected_at),
      cursorAgeMs: g.cursor_age_ms === null ? null : Number(g.cursor_age_ms),
      note: g.note,
    })),
  };
}

/** Where every corp stands (`status`, and the HTTP status endpoint). Includes corps removed from config that still have data. */
export async function corpStatuses(db: Kysely<Database>, now: number): Promise<CorpStatus[]> {
  const [corps, cursors, messageCounts, envelopeCounts, gapCounts, restartCounts] = await Promise.all([
    db.selectFrom('corps').select('corpid').execute(),
    db.selectFrom('cursors').selectAll().orderBy('corpid').execute(),
    db
      .selectFrom('messages')
      .select(['corpid', 'known_type', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'known_type'])
      .execute(),
    db
      .selectFrom('envelopes')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'retry')
      .groupBy('corpid')
      .execute(),
    db
      .selectFrom('gaps')
      .select(['corpid', 'kind', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['corpid', 'kind'])
      .execute(),
    db
      .selectFrom('sdk_host_restarts')
      .select(['corpid', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('corpid')
      .execute(),
  ]);
  const configured = new Set(corps.map((c) => c.corpid));
  const waiting = await waitingGroups(db, now);
  const media = await mediaStatuses(db);
  const inboxes = await new CallbackInbox(db).summaries();
  const directories = await directoryStatuses(db);
  const notIndexed = await indexBacklog(db);
  const result: CorpStatus[] = [];
  for (const c of cursors) {
    const gapCount = (kind: GapKind) => Number(gapCounts.find((g) => g.corpid === c.corpid && g.kind === kind)?.n ?? 0);
    const losses = await gapSummary(db, c.corpid, 'loss', gapCount('loss'));
    const seqJumps = await gapSummary(db, c.corpid, 'jump', gapCount('jump'));
    const restarts = Number(restartCounts.find((r) => r.corpid === c.corpid)?.n ?? 0);
    const lastRestart =
      restarts === 0
        ? undefined
        : await db
            .selectFrom('sdk_host_restarts')
            .select(['lane', 'cause', 'signal', 'operation', 'detail', 'occurred_at'])
            .where('corpid', '=', c.corpid)
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst();
    const retrying = Number(envelopeCounts.find((e) => e.corpid === c.corpid)?.n ?? 0);
    const fresh = await freshEnvelopes(db, c.corpid, c.decrypted_seq)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    result.push({
      corpid: c.corpid,
      configured: configured.has(c.corpid),
      cursorSeq: decodeSeq(c.seq).toString(),
      state: c.state,
      lastErrorCode: c.last_error_code,
      lastError: c.last_error,
      messages: messageCounts.filter((m) => m.corpid === c.corpid).reduce((n, m) => n + Number(m.n), 0),
      unknownTypes: messageCounts.filter((m) => m.corpid === c.corpid && Number(m.known_type) === 0).reduce((n, m) => n + Number(m.n), 0),
      pending: Number(fresh.n) + retrying,
      waiting: waiting.get(c.corpid) ?? [],
      gaps: losses,
      seqJumps,
      lastSuccessAt: c.last_success_at === null ? null : Number(c.last_success_at),
      pullLease: liveHolder(c, now) ?? null,
      ...currency(c, now),
      notIndexed: notIndexed.find((b) => b.corpid === c.corpid)?.pending ?? 0,
      media: media.get(c.corpid) ?? emptyMediaStatus(),
      callbacks: inboxes.get(c.corpid) ?? { pending: 0, failed: 0, ignored: 0, done: 0, lastReceivedAt: null, latestFailures: [] },
      directory: directories.get(c.corpid) ?? emptyDirectoryStatus(),
      sdkHostRestarts: {
        count: restarts,
        latest: lastRestart
          ? {
              lane: lastRestart.lane,
              cause: lastRestart.cause,
              signal: lastRestart.signal,
              operation: lastRestart.operation,
              detail: lastRestart.detail,
              at: Number(lastRestart.occurred_at),
            }
          : null,
      },
    });
  }
  return result;
}

/** How current a corp's archive is, from its cursor row: the newest message's time, its lag behind `now`, and the hours left in WeCom's window. */
function currency(c: { newest_msgtime: number | string | null; caught_up_at: number | string | null }, now: number): Pick<CorpStatus, 'newestMsgtime' | 'lagMs' | 'hoursLeft'> {
  const caughtUp = c.caught_up_at === null ? null : Number(c.caught_up_at);
  const newest = c.newest_msgtime === null ? null : Number(c.newest_msgtime);
  return {
    newestMsgtime: newest,
    lagMs: newest === null ? null : Math.max(0, now - newest),
    hoursLeft: caughtUp === null ? null : Math.round(((WECOM_RETENTION_MS - (now - caughtUp)) / 3600_000) * 10) / 10,
  };
}

/** What a reader's list of corps shows of each (GET /api/corps). */
export type CorpSummary = Pick<CorpStatus, 'corpid' | 'state' | 'newestMsgtime' | 'lagMs' | 'hoursLeft' | 'notIndexed'>;

/**
 * corpStatuses' corps with only what a reader's list of them shows: the cursor rows and the index's
 * backlog, not the counts of every message, envelope and media job that `status` adds (a million
 * messages took those counts about 400 ms, on every start and search page of the web UI).
 */
export async function corpSummaries(db: Kysely<Database>, now: number): Promise<CorpSummary[]> {
  const [cursors, notIndexed] = await Promise.all([
    db.selectFrom('cursors').select(['corpid', 'state', 'newest_msgtime', 'caught_up_at']).orderBy('corpid').execute(),
    indexBacklog(db),
  ]);
  return cursors.map((c) => ({ corpid: c.corpid, state: c.state, ...currency(c, now), notIndexed: notIndexed.find((b) => b.corpid === c.corpid)?.pending ?? 0 }));
}
