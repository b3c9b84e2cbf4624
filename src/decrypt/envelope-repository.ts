import { type Kysely, sql, type Transaction } from 'kysely';
import { insertMediaJobs } from '../media/jobs/media-job-repository.ts';
import { recordMessageEvents } from '../outbox/outbox-writer.ts';
import { recordConversations } from '../reading/conversation-summary.ts';
import { queueForIndex } from '../search/search-pending.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import { transactionRetryingConflicts } from '../store/in-transaction.ts';
import type { Database, NewMessage } from '../store/schema.ts';
import type { EnvelopeRow } from './decrypt-batch.ts';
import type { WaitReason } from './wait-reasons.ts';

/** Sorts before every stored seq: "nothing claimed yet", "no watermark yet". */
export const NO_SEQ = '';

/** Rows an `IN (…)` list of one update holds at most. */
const UPDATE_CHUNK = 100;

/** Where a drain takes its envelopes from: fresh ones above the watermark, or ones put back for a retry. */
export type DecryptLane = 'fresh' | 'retry';

/** Envelopes that wait for the same reason, written in one update. */
export interface EnvelopeWait {
  reason: WaitReason;
  code: number | null;
  detail: string;
  nextAttemptAt: number | null;
  msgids: string[];
}

/** What one decrypt commit writes, all in one transaction. */
export interface DecryptCommit {
  lane: DecryptLane;
  messages: readonly NewMessage[];
  waits: readonly EnvelopeWait[];
  /** the last seq the committed batches claimed: a fresh lane's new watermark */
  lastSeq: string;
  newestMsgtime: number | null;
}

/** A key version of a corp and when it was stored (ms). */
export interface StoredKeyVersion {
  version: number;
  storedAt: number;
}

/** One group of waiting envelopes as counted by `waitingCounts`. */
export interface WaitingCount {
  corpid: string;
  reason: WaitReason | null;
  code: number | null;
  count: number;
  /** stored less than an hour / more than a day before `now` */
  underHour: number;
  overDay: number;
  oldestReceivedAt: number;
  nextAttemptAt: number | null;
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Fresh envelopes still to decrypt: 'pending' and above the corp's watermark (at or below it they
 * are handled, see EnvelopeTable.state). The one definition the stage, its backlog and `status` use.
 */
export function freshEnvelopes(db: Kysely<Database>, corpid: string, decryptedSeq: string | null) {
  return db
    .selectFrom('envelopes')
    .where('state', '=', 'pending')
    .where('corpid', '=', corpid)
    .where('seq', '>', decryptedSeq ?? NO_SEQ);
}

/**
 * Every query of the decrypt stage and its tools on the envelopes and what goes with them (the
 * cursor's decrypted watermark, the key versions' store times, the messages and media jobs a commit
 * writes). The callers hold the logic; this module holds the SQL.
 */
export class EnvelopeRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The corp's key versions with their store times, in version order. */
  async keyVersions(corpid: string): Promise<StoredKeyVersion[]> {
    const rows = await this.db.selectFrom('key_versions').select(['version', 'created_at']).where('corpid', '=', corpid).orderBy('version').execute();
    return rows.map((r) => ({ version: r.version, storedAt: Number(r.created_at) }));
  }

  /**
   * The key versions the corp's envelopes need: those of envelopes received since `since`, and of
   * envelopes waiting for a key. `doctor` compares them with the stored keys.
   */
  async keyVersionsInUse(corpid: string, since: number): Promise<number[]> {
    const [recent, waiting] = await Promise.all([
      this.db.selectFrom('envelopes').select('publickey_ver').distinct().where('corpid', '=', corpid).where('received_at', '>=', since).execute(),
      this.db.selectFrom('envelopes').select('publickey_ver').distinct().where('corpid', '=', corpid).where('state', '=', 'waiting').where('reason', '=', 'key_missing').execute(),
    ]);
    return [...new Set([...recent, ...waiting].map((r) => r.publickey_ver))];
  }

  /** Whether the corp was ever archived here: it has a cursor row (kept when the corp is removed). */
  async hasCursor(corpid: string): Promise<boolean> {
    const row = await this.db.selectFrom('cursors').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
    return row !== undefined;
  }

  /** The corp's decrypted watermark: every envelope at or below it is handled (NO_SEQ: none yet). */
  async watermark(corpid: string): Promise<string> {
    const row = await this.db.selectFrom('cursors').select('decrypted_seq').where('corpid', '=', corpid).executeTakeFirst();
    return row?.decrypted_seq ?? NO_SEQ;
  }

  /** Puts back envelopes waiting for a key of one of these versions. Returns how many. */
  async requeueKeyMissing(corpid: string, versions: readonly number[], now: number): Promise<number> {
    if (versions.length === 0) return 0;
    const r = await this.db
      .updateTable('envelopes')
      .set({ state: 'retry', updated_at: now })
      .where('corpid', '=', corpid)
      .where('state', '=', 'waiting')
      .where('reason', '=', 'key_missing')
      .where('publickey_ver', 'in', versions)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Puts back envelopes whose automatic retry is due at `now`. Returns how many. */
  async requeueDue(corpid: string, now: number): Promise<number> {
    const r = await this.db
      .updateTable('envelopes')
      .set({ state: 'retry', next_attempt_at: null, updated_at: now })
      .where('corpid', '=', corpid)
      .where('state', '=', 'waiting')
      .where('next_attempt_at', '<=', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * Puts back envelopes of this key version that failed for one of `reasons`, waiting for an operator
   * (no automatic retry: that one keeps its backoff), and last written in [from, until). Returns how many.
   */
  async requeueFailedBetween(corpid: string, version: number, reasons: readonly WaitReason[], from: number, until: number, now: number): Promise<number> {
    const r = await this.db
      .updateTable('envelopes')
      .set({ state: 'retry', next_attempt_at: null, updated_at: now })
      .where('corpid', '=', corpid)
      .where('state', '=', 'waiting')
      .where('publickey_ver', '=', version)
      .where('reason', 'in', reasons)
      .where('next_attempt_at', 'is', null)
      .where('updated_at', '>=', from)
      .where('updated_at', '<', until)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /**
   * Puts every waiting envelope with one of `reasons` back, its backoff started over (`decrypt retry`).
   * Returns how many per corp, only corps that had some, in corpid order.
   */
  async requeueWaiting(reasons: readonly WaitReason[], corpid: string | undefined, now: number): Promise<Array<{ corpid: string; count: number }>> {
    let corps = this.db.selectFrom('envelopes').select('corpid').distinct().where('state', '=', 'waiting').where('reason', 'in', reasons);
    if (corpid !== undefined) corps = corps.where('corpid', '=', corpid);
    const result: Array<{ corpid: string; count: number }> = [];
    for (const { corpid: id } of await corps.orderBy('corpid').execute()) {
      const r = await this.db
        .updateTable('envelopes')
        .set({ state: 'retry', attempts: 0, next_attempt_at: null, updated_at: now })
        .where('corpid', '=', id)
        .where('state', '=', 'waiting')
        .where('reason', 'in', reasons)
        .executeTakeFirst();
      const count = Number(r.numUpdatedRows);
      if (count) result.push({ corpid: id, count });
    }
    return result;
  }

  /** When the corp's earliest automatic retry is due (ms), or null when none waits for one. */
  async nextAttemptAt(corpid: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('envelopes')
      .select((eb) => eb.fn.min('next_attempt_at').as('at'))
      .where('corpid', '=', corpid)
      .where('state', '=', 'waiting')
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  /** How many envelopes are put back for a retry, and how many are fresh above `watermark`. */
  async countToDo(corpid: string, watermark: string): Promise<{ retry: number; fresh: number }> {
    const [retry, fresh] = await Promise.all([
      this.db
        .selectFrom('envelopes')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', 'retry')
        .where('corpid', '=', corpid)
        .executeTakeFirstOrThrow(),
      freshEnvelopes(this.db, corpid, watermark)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { retry: Number(retry.n), fresh: Number(fresh.n) };
  }

  /** The next `limit` envelopes of a lane after seq `after`, in seq order, with their failed tries. */
  async nextBatch(corpid: string, lane: DecryptLane, after: string, limit: number): Promise<Array<EnvelopeRow & { attempts: number }>> {
    const rows =
      lane === 'fresh'
        ? freshEnvelopes(this.db, corpid, after)
        : this.db.selectFrom('envelopes').where('state', '=', 'retry').where('corpid', '=', corpid).where('seq', '>', after);
    return rows.select(['msgid', 'seq', 'publickey_ver', 'encrypt_random_key', 'encrypt_chat_msg', 'attempts']).orderBy('seq').limit(limit).execute();
  }

  /**
   * Commits decrypted batches in one transaction: the messages with their conversations' summary
   * rows, their media jobs and their place in the search index's queue (a stored message always has all three), the failures' reasons,
   * then the lane's progress (a fresh lane moves the watermark to `lastSeq`, a retry lane marks its
   * messages' envelopes 'done') and the corp's newest msgtime.
   */
  async commitDecrypted(dialect: StoreDialect, corpid: string, commit: DecryptCommit, now: number): Promise<void> {
    // a lock conflict (the index stage and other processes write the same queue tables) runs the
    // commit again, rather than failing the batch and decrypting its envelopes a second time
    await transactionRetryingConflicts(this.db, dialect, async (trx) => {
      await recordConversations(trx, dialect, corpid, commit.messages);
      await dialect.insertIgnoring(trx, 'messages', commit.messages, ['corpid', 'msgid']);
      await insertMediaJobs(trx, dialect, corpid, commit.messages, now);
      await queueForIndex(trx, dialect, corpid, commit.messages, now);
      for (const w of commit.waits) await markWaiting(trx, corpid, w, now);
      if (commit.lane === 'retry')
        await markDone(
          trx,
          corpid,
          commit.messages.map((m) => m.msgid),
          now,
        );
      else await raiseWatermark(trx, corpid, commit.lastSeq);
      if (commit.newestMsgtime !== null) await raiseNewestMsgtime(trx, corpid, commit.newestMsgtime);
      // last: its counter lock orders the corp's events by commit, held as briefly as possible
      await recordMessageEvents(trx, dialect, corpid, commit.messages, now);
    });
  }

  /** Waiting envelopes of every corp (or one), counted by corp, reason and code, with their ages. */
  async waitingCounts(now: number, corpid?: string): Promise<WaitingCount[]> {
    let query = this.db
      .selectFrom('envelopes')
      .select((eb) => [
        'corpid',
        'reason',
        'reason_code',
        eb.fn.countAll<number>().as('n'),
        eb.fn.min('received_at').as('oldest'),
        eb.fn.min('next_attempt_at').as('next_at'),
        eb.fn
          .sum<number>(
            eb
              .case()
              .when('received_at', '>=', now - HOUR_MS)
              .then(eb.lit(1))
              .else(eb.lit(0))
              .end(),
          )
          .as('under_hour'),
        eb.fn
          .sum<number>(
            eb
              .case()
              .when('received_at', '<', now - DAY_MS)
              .then(eb.lit(1))
              .else(eb.lit(0))
              .end(),
          )
          .as('over_day'),
      ])
      .where('state', '=', 'waiting');
    if (corpid !== undefined) query = query.where('corpid', '=', corpid);
    const rows = await query.groupBy(['corpid', 'reason', 'reason_code']).execute();
    return rows.map((r) => ({
      corpid: r.corpid,
      reason: r.reason,
      code: r.reason_code,
      count: Number(r.n),
      underHour: Number(r.under_hour ?? 0),
      overDay: Number(r.over_day ?? 0),
      oldestReceivedAt: Number(r.oldest),
      nextAttemptAt: r.next_at === null || r.next_at === undefined ? null : Number(r.next_at),
    }));
  }
}

/** Failures that read alike (a whole batch refused with one code) are written together. */
async function markWaiting(trx: Transaction<Database>, corpid: string, w: EnvelopeWait, now: number): Promise<void> {
  for (let i = 0; i < w.msgids.length; i += UPDATE_CHUNK) {
    await trx
      .updateTable('envelopes')
      .set({ state: 'waiting', reason: w.reason, reason_code: w.code, reason_detail: w.detail, attempts: sql`attempts + 1`, next_attempt_at: w.nextAttemptAt, updated_at: now })
      .where('corpid', '=', corpid)
      .where('msgid', 'in', w.msgids.slice(i, i + UPDATE_CHUNK))
      .execute();
  }
}

/** Retried envelopes that became messages: marked one by one (few; fresh ones use the watermark). */
async function markDone(trx: Transaction<Database>, corpid: string, msgids: readonly string[], now: number): Promise<void> {
  for (let i = 0; i < msgids.length; i += UPDATE_CHUNK) {
    await trx
      .updateTable('envelopes')
      .set({ state: 'done', reason: null, reason_code: null, reason_detail: null, updated_at: now })
      .where('corpid', '=', corpid)
      .where('msgid', 'in', msgids.slice(i, i + UPDATE_CHUNK))
      .execute();
  }
}

/** The watermark only moves forward: another process may have committed further already. */
async function raiseWatermark(trx: Transaction<Database>, corpid: string, lastSeq: string): Promise<void> {
  await trx
    .updateTable('cursors')
    .set({ decrypted_seq: lastSeq })
    .where('corpid', '=', corpid)
    .where((eb) => eb.or([eb('decrypted_seq', 'is', null), eb('decrypted_seq', '<', lastSeq)]))
    .execute();
}

async function raiseNewestMsgtime(trx: Transaction<Database>, corpid: string, msgtime: number): Promise<void> {
  await trx
    .updateTable('cursors')
    .set({ newest_msgtime: msgtime })
    .where('corpid', '=', corpid)
    .where((eb) => eb.or([eb('newest_msgtime', 'is', null), eb('newest_msgtime', '<', msgtime)]))
    .execute();
}
