import type { KeyObject } from 'node:crypto';
import { scopedSignal } from '../runtime/abort.ts';
import { type BatchOutcome, decryptBatch, type DecryptDeps, type EnvelopeRow, type Failure } from './decrypt-batch.ts';
import { type DecryptLane, EnvelopeRepository, type EnvelopeWait, NO_SEQ } from './envelope-repository.ts';
import { backoffDelayMs, type RetryBackoff, TRANSIENT_BACKOFF, type WaitReason } from './wait-reasons.ts';

export interface DecryptStageOptions {
  /** envelopes per RSA batch */
  batchSize?: number;
  /**
   * batches in flight at once: keeps the RSA workers busy while the main thread writes, also through
   * its longer stalls (a SQLite checkpoint): 12 rather than 6 cut a 1M-message run's idle CPU time
   * from 28 s to 6 s
   */
  inflight?: number;
  /**
   * envelopes per transaction: finished batches are gathered, in seq order, until their messages and
   * failures reach this many (or nothing else is in flight), then committed together
   */
  commitSize?: number;
  /**
   * when an envelope that failed for a transient reason is tried again (stored in its
   * next_attempt_at, so it holds across restarts); it is never given up (docs/design.md rule 3)
   */
  backoff?: RetryBackoff;
}

export interface DrainResult {
  messages: number;
  failures: number;
  /** failures that may succeed on a later try without any change (transient SDK errors) */
  retryable: number;
}

/**
 * Where the envelopes of one drain come from, and how their outcome is recorded: 'fresh' ones above
 * the watermark (successes move the watermark), or 'retry' ones put back after waiting, at any seq
 * (each success is marked 'done'). `after` is the last seq claimed.
 */
interface Lane {
  kind: DecryptLane;
  after: string;
}

interface Flight {
  outcome: Promise<BatchOutcome>;
  lastSeq: string;
  /** failed tries so far of the batch's envelopes that had any (the backoff's exponent) */
  attempts: ReadonlyMap<string, number>;
}

/** A finished batch waiting for its commit. */
interface Finished {
  outcome: BatchOutcome;
  attempts: ReadonlyMap<string, number>;
}

/** How often a drain looks whether a corp's keys were added or replaced since it loaded them. */
const KEY_CHECK_INTERVAL_MS = 1_000;
/**
 * An envelope that failed (RSA, SDK or JSON) less than this long after its version's key was stored
 * may have been tried with the key it replaced, still loaded in a process that had not seen the
 * change: `requeue` tries it again. Far longer than KEY_CHECK_INTERVAL_MS plus the batches in flight;
 * a key that is really wrong fails again later than this, so it is not retried in a loop.
 */
export const KEY_CHANGE_GRACE_MS = 120_000;

/** Failures that a key replaced meanwhile may have caused (tried with the old key). */
const KEY_DEPENDENT_REASONS: readonly WaitReason[] = ['rsa_failed', 'sdk_error', 'bad_json'];

/**
 * The decrypt stage: claims a corp's envelopes in seq order, decrypts them in batches (several in
 * flight, so the RSA workers never wait for the database), and commits finished batches in seq order,
 * several per transaction: the messages, the media jobs, the failures' reasons and the corp's
 * decrypted watermark together. Safe to run twice on the same rows: messages are keyed by (corpid,
 * msgid) and duplicates are skipped (docs/design.md rule 2); a crash loses only uncommitted work, which the
 * next run redoes from the watermark.
 */
export class DecryptStage {
  private readonly batchSize: number;
  private readonly inflight: number;
  private readonly commitSize: number;
  private readonly backoff: RetryBackoff;
  /** per corp: the versions and store times of the keys loaded into the RSA pool, and when that was last checked */
  private readonly loadedKeys = new Map<string, { stamp: string; checkedAt: number; storedAt: ReadonlyMap<number, number> }>();
  private readonly envelopes: EnvelopeRepository;

  constructor(
    private readonly deps: DecryptDeps & { loadKeys(corpid: string): Promise<Map<number, KeyObject>> },
    options: DecryptStageOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 256;
    this.inflight = options.inflight ?? 12;
    this.commitSize = options.commitSize ?? 1024;
    this.backoff = options.backoff ?? TRANSIENT_BACKOFF;
    this.envelopes = new EnvelopeRepository(deps.db);
  }

  /** Loads the corp's private keys into the RSA pool (again: keys may have been added since). */
  async refreshKeys(corpid: string): Promise<number[]> {
    const { stamp, storedAt } = await this.keyStamp(corpid);
    const keys = await this.deps.loadKeys(corpid);
    this.deps.rsa.setKeys(corpid, keys);
    this.loadedKeys.set(corpid, { stamp, checkedAt: this.deps.now(), storedAt });
    return [...keys.keys()];
  }

  /** The corp's key versions with the time each was stored: it changes when a key is added or replaced. */
  private async keyStamp(corpid: string): Promise<{ stamp: string; storedAt: Map<number, number> }> {
    const rows = await this.envelopes.keyVersions(corpid);
    return { stamp: rows.map((r) => `${r.version}@${r.storedAt}`).join(','), storedAt: new Map(rows.map((r) => [r.version, r.storedAt])) };
  }

  /**
   * Loads the keys again when one was added or replaced (`keys replace` in another process) since
   * they were loaded, looking at most once every KEY_CHECK_INTERVAL_MS; so a running archive stops
   * trying a replaced key within about a second.
   */
  private async keepKeysCurrent(corpid: string): Promise<void> {
    const loaded = this.loadedKeys.get(corpid);
    const now = this.deps.now();
    if (loaded && now - loaded.checkedAt < KEY_CHECK_INTERVAL_MS) return;
    const { stamp } = await this.keyStamp(corpid);
    if (loaded?.stamp === stamp) {
      loaded.checkedAt = now;
      return;
    }
    this.deps.log?.debug({ corp: corpid, stage: 'decrypt' }, 'keys changed since they were loaded: loading them again');
    await this.refreshKeys(corpid);
  }

  /**
   * Puts back for another try what may now succeed: envelopes waiting for a key version that is now
   * stored, and those whose next automatic try is due (transient failures: never given up). Returns how many.
   */
  async requeue(corpid: string): Promise<number> {
    const versions = await this.refreshKeys(corpid);
    const now = this.deps.now();
    const keyed = await this.envelopes.requeueKeyMissing(corpid, versions, now);
    const due = await this.envelopes.requeueDue(corpid, now);
    // failures that may come from a key replaced meanwhile (tried with the old one), see KEY_CHANGE_GRACE_MS
    let rekeyed = 0;
    // the store times read when the keys were loaded, at the top of this requeue
    for (const [version, storedAt] of this.loadedKeys.get(corpid)?.storedAt ?? []) {
      // an automatic retry (a transient failure) keeps its backoff: it comes back by itself
      rekeyed += await this.envelopes.requeueFailedBetween(corpid, version, KEY_DEPENDENT_REASONS, storedAt, storedAt + KEY_CHANGE_GRACE_MS, now);
    }
    if (keyed + due + rekeyed) this.deps.log?.debug({ corp: corpid, stage: 'decrypt', keyAdded: keyed, due, keyChanged: rekeyed }, 'waiting envelopes queued again');
    return keyed + due + rekeyed;
  }

  /** When the corp's earliest automatic retry is due (ms), or null when none waits for one. */
  nextAttemptAt(corpid: string): Promise<number | null> {
    return this.envelopes.nextAttemptAt(corpid);
  }

  /** Envelopes still to decrypt: put back for a retry, or fresh above the watermark. */
  async backlog(corpid: string): Promise<number> {
    const { retry, fresh } = await this.envelopes.countToDo(corpid, await this.envelopes.watermark(corpid));
    return retry + fresh;
  }

  /**
   * Decrypts every envelope to do for the corp, retries first; stops early (between batches) when
   * aborted. `onBatch` hears of every committed transaction (progress).
   */
  async drain(corpid: string, signal?: AbortSignal, onBatch?: (batch: DrainResult) => void): Promise<DrainResult> {
    const total: DrainResult = { messages: 0, failures: 0, retryable: 0 };
    const heard = (r: DrainResult) => {
      total.messages += r.messages;
      total.failures += r.failures;
      total.retryable += r.retryable;
      onBatch?.(r);
    };
    await this.drainLane(corpid, { kind: 'retry', after: NO_SEQ }, signal, heard);
    await this.drainLane(corpid, { kind: 'fresh', after: await this.envelopes.watermark(corpid) }, signal, heard);
    return total;
  }

  private nextRows(corpid: string, lane: Lane): Promise<Array<EnvelopeRow & { attempts: number }>> {
    return this.envelopes.nextBatch(corpid, lane.kind, lane.after, this.batchSize);
  }

  /**
   * Keeps up to `inflight` batches decrypting and commits finished ones in seq order (the watermark
   * may only pass what is committed), about `commitSize` envelopes a transaction. A commit runs while
   * the next batches are claimed and decrypted, so the RSA workers do not wait for the database's
   * disk flush; commits never overlap, so they stay in order.
   */
  private async drainLane(corpid: string, lane: Lane, outer: AbortSignal | undefined, heard: (r: DrainResult) => void): Promise<void> {
    // a backend without DecryptData in batches (or a batch that fell back) has a call per message in
    // flight, each listening for the stop
    const scoped = scopedSignal(outer, this.inflight * this.batchSize + 1);
    const signal = scoped.signal;
    const flights: Flight[] = [];
    let exhausted = false;
    let failure: unknown;
    let committing: Promise<void> = Promise.resolve();
    let group: Finished[] = [];
    let size = 0;
    try {
      while (failure === undefined) {
        while (!exhausted && !signal.aborted && flights.length < this.inflight) {
          await this.keepKeysCurrent(corpid);
          const rows = await this.nextRows(corpid, lane);
          if (rows.length < this.batchSize) exhausted = true;
          if (rows.length === 0) break;
          lane.after = rows[rows.length - 1]!.seq;
          this.deps.log?.debug({ corp: corpid, stage: 'decrypt', lane: lane.kind, envelopes: rows.length, firstSeq: rows[0]!.seq, lastSeq: lane.after }, 'batch claimed');
          // fresh envelopes have had no try: only the others' counts are kept
          const attempts = new Map(rows.filter((r) => Number(r.attempts) > 0).map((r) => [r.msgid, Number(r.attempts)]));
          const flight: Flight = { outcome: decryptBatch(this.deps, corpid, rows, signal), lastSeq: lane.after, attempts };
          // a rejection is seen where the flight is awaited (in order, or in the finally below)
          flight.outcome.catch(() => undefined);
          flights.push(flight);
        }
        if (flights.length === 0) break;
        const flight = flights.shift()!;
        const outcome = await flight.outcome;
        group.push({ outcome, attempts: flight.attempts });
        size += outcome.messages.length + outcome.failures.length;
        const lastSeq = flight.lastSeq;
        // finished batches are gathered into one transaction until it holds commitSize envelopes'
        // outcomes, or nothing else is in flight: each transaction rewrites every page it touches, and
        // msgid keys land on random pages, so four batches together write far less than four apart
        if (size < this.commitSize && flights.length > 0) continue;
        await committing;
        committing = this.commitGroup(corpid, lane, group, lastSeq, heard, (err) => {
          failure ??= err;
        });
        group = [];
        size = 0;
      }
      await committing;
    } catch (err) {
      failure ??= err;
    } finally {
      // Nothing in flight is committed after a failure; the rows stay to do and are redone.
      await Promise.allSettled([committing, ...flights.map((f) => f.outcome)]);
      scoped.release();
    }
    if (failure !== undefined) throw failure;
  }

  /** Commits finished batches together; `heard` hears of it once it is committed, `failed` if it is not. */
  private commitGroup(corpid: string, lane: Lane, group: readonly Finished[], lastSeq: string, heard: (r: DrainResult) => void, failed: (err: unknown) => void): Promise<void> {
    const merged = mergeOutcomes(group.map((g) => g.outcome));
    const attempts = group.length === 1 ? group[0]!.attempts : new Map(group.flatMap((g) => [...g.attempts]));
    return this.commit(corpid, lane, merged, lastSeq, attempts).then(
      () => heard({ messages: merged.messages.length, failures: merged.failures.length, retryable: merged.failures.filter((f) => f.transient).length }),
      failed,
    );
  }

  private async commit(corpid: string, lane: Lane, outcome: BatchOutcome, lastSeq: string, attempts: ReadonlyMap<string, number>): Promise<void> {
    const now = this.deps.now();
    const waits = this.waits(outcome.failures, attempts, now);
    await this.envelopes.commitDecrypted(this.deps.dialect, corpid, { lane: lane.kind, messages: outcome.messages, waits, lastSeq, newestMsgtime: outcome.newestMsgtime }, now);
    if (this.deps.log?.isLevelEnabled('debug')) {
      const waiting = waits.map((w) => ({ reason: w.reason, code: w.code, count: w.msgids.length, retryInMs: w.nextAttemptAt === null ? null : w.nextAttemptAt - now }));
      this.deps.log.debug({ corp: corpid, stage: 'decrypt', lane: lane.kind, decrypted: outcome.messages.length, waiting }, 'batches committed');
    }
  }

  /**
   * The failures grouped by what is written for them. A transient one gets its next try after the
   * backoff of its failed tries (this one included); any other waits for a key or an operator.
   */
  private waits(failures: readonly Failure[], attempts: ReadonlyMap<string, number>, now: number): EnvelopeWait[] {
    const waits = new Map<string, EnvelopeWait>();
    for (const f of failures) {
      const tries = (attempts.get(f.msgid) ?? 0) + 1;
      const nextAttemptAt = f.transient ? now + backoffDelayMs(this.backoff, tries) : null;
      const key = JSON.stringify([f.reason, f.code, f.detail, nextAttemptAt]);
      const wait = waits.get(key);
      if (wait) wait.msgids.push(f.msgid);
      else waits.set(key, { reason: f.reason, code: f.code, detail: f.detail, nextAttemptAt, msgids: [f.msgid] });
    }
    return [...waits.values()];
  }
}

function mergeOutcomes(group: readonly BatchOutcome[]): BatchOutcome {
  if (group.length === 1) return group[0]!;
  let newestMsgtime: number | null = null;
  for (const o of group) if (o.newestMsgtime !== null && (newestMsgtime === null || o.newestMsgtime > newestMsgtime)) newestMsgtime = o.newestMsgtime;
  return { messages: group.flatMap((o) => o.messages), failures: group.flatMap((o) => o.failures), newestMsgtime };
}
