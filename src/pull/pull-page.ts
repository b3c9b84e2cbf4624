import type { Kysely } from 'kysely';
import type { CorpConfig } from '../corps/corp-registry.ts';
import { ArchiveError } from '../errors/errors.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import type { StoreDialect } from '../store/dialects/dialect.ts';
import type { Database, NewEnvelope } from '../store/schema.ts';
import { encodeSeq } from '../store/seq-codec.ts';
import { parseChatDataPage } from './chat-data-page.ts';
import { messageTimeAt, moveCursor, readCursor, readCursorForPage, recordGap, storeEnvelopes } from './cursor-store.ts';
import { classifyGap, formatAge, WECOM_RETENTION_MS } from './gap-kind.ts';
import { moveCursorAsHolder } from './pull-lease.ts';

export interface PullDeps {
  db: Kysely<Database>;
  dialect: StoreDialect;
  backend: SdkBackend;
  now(): number;
}

export interface PullResult {
  /** entries WeCom returned */
  received: number;
  /** envelopes newly stored (duplicates of stored ones are not counted) */
  stored: number;
  /** the page was full: more is waiting, pull again at once */
  full: boolean;
  /** the cursor before this page, and after it */
  from: bigint;
  cursor: bigint;
  /** jumps in seq that may have lost data (the cursor was at or near the edge of WeCom's window) */
  gaps: number;
  /** jumps in seq while the cursor was well inside the window: recorded, nothing lost */
  seqJumps: number;
}

/** The pull lease was taken by another process while this page was on the way: nothing was committed. */
export class PullLeaseLostError extends ArchiveError {
  constructor(corpid: string) {
    super('PULL_LEASE_LOST', `another process took over the pull of corp ${corpid}; this page was not committed`);
  }
}

/**
 * One GetChatData call from the corp's cursor. The envelopes and the cursor that passes them are
 * committed in one transaction, before any decryption (docs/design.md rule 1); the cursor only moves forward.
 * With `leaseOwner`, the transaction commits only while that owner holds the corp's pull lease
 * (pull-lease.ts), and never moves it back, else it throws PullLeaseLostError.
 */
export async function pullPage(deps: PullDeps, corp: CorpConfig, signal?: AbortSignal, leaseOwner?: string): Promise<PullResult> {
  const { db, dialect, backend, now } = deps;
  const from = await readCursor(db, corp.corpid);
  const text = await backend.getChatData({ seq: from, limit: corp.limit, proxy: corp.proxy ?? '', passwd: corp.proxyAuth ?? '', timeoutS: corp.timeoutS }, signal);
  const entries = parseChatDataPage(text).sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  const at = now();

  return db.transaction().execute(async (trx) => {
    // Read again inside the transaction: another holder may have moved it meanwhile.
    const { cursor, caughtUpAt } = await readCursorForPage(trx, corp.corpid);
    const fresh = entries.filter((e) => e.seq > cursor);
    const values: NewEnvelope[] = fresh.map((e) => ({
      corpid: corp.corpid,
      msgid: e.msgid,
      seq: encodeSeq(e.seq),
      publickey_ver: e.publickeyVer,
      encrypt_random_key: e.encryptRandomKey,
      encrypt_chat_msg: e.encryptChatMsg,
      state: e.problem ? 'waiting' : 'pending',
      reason: e.problem ? 'bad_envelope' : null,
      reason_code: null,
      reason_detail: e.problem,
      attempts: 0,
      received_at: at,
      updated_at: at,
    }));
    const stored = await storeEnvelopes(trx, dialect, values);

    // A jump in seq from the cursor is recorded, and told apart (gap-kind.ts): a loss when the cursor
    // was older than WeCom's 5-day window, or near its edge (docs/design.md rule 8), else a mere seq jump.
    // Only the jump from the stored cursor can be a loss: WeCom served both ends of any later jump
    // in this page, so what lay between them was inside the window too. The first pull of a new
    // corp (cursor 0) has no "before" to compare.
    let gaps = 0;
    let seqJumps = 0;
    let previous = cursor;
    for (const e of fresh) {
      if (previous > 0n && e.seq > previous + 1n) {
        const verdict =
          previous === cursor ? classifyGap(at, cursorFreshAt(await messageTimeAt(trx, corp.corpid, cursor), caughtUpAt)) : { kind: 'jump' as const, cursorAgeMs: null };
        const skipped = e.seq - previous - 1n;
        const age = verdict.cursorAgeMs === null ? null : formatAge(verdict.cursorAgeMs);
        const note =
          verdict.kind === 'loss'
            ? `WeCom skipped ${skipped} seq value(s) between ${previous} and ${e.seq} while the cursor was ${age === null ? 'of unknown age (never caught up, its message not decrypted yet)' : `${age} old`}: messages older than the ${WECOM_RETENTION_MS / 86_400_000}-day window are gone`
            : `seq jumped by ${skipped} between ${previous} and ${e.seq} while ${age === null ? 'both were inside the window' : `the cursor was ${age} old, well inside the window`}: WeCom does not promise contiguous seq values; nothing fell out of the window`;
        await recordGap(trx, {
          corpid: corp.corpid,
          after_seq: encodeSeq(previous),
          next_seq: encodeSeq(e.seq),
          detected_at: at,
          note,
          kind: verdict.kind,
          cursor_age_ms: verdict.cursorAgeMs,
        });
        if (verdict.kind === 'loss') gaps += 1;
        else seqJumps += 1;
      }
      previous = e.seq;
    }

    const next = fresh.length ? fresh[fresh.length - 1]!.seq : cursor;
    const full = entries.length >= corp.limit;
    const moved = {
      state: 'ok' as const,
      last_error_code: null,
      last_error: null,
      last_pull_at: at,
      last_success_at: at,
      ...(full ? {} : { caught_up_at: at }),
      updated_at: at,
    };
    const seq = encodeSeq(next);
    if (leaseOwner === undefined) {
      await moveCursor(trx, corp.corpid, seq, moved);
    } else if (!(await moveCursorAsHolder(trx, corp.corpid, leaseOwner, seq, moved))) {
      // thrown inside the transaction: the envelopes and gaps of this page are rolled back with it
      throw new PullLeaseLostError(corp.corpid);
    }
    return { received: entries.length, stored, full, from: cursor, cursor: next, gaps, seqJumps };
  });
}

/**
 * The latest instant before which nothing unpulled can have arrived: the last catch-up, or the time
 * of the cursor's own message if it is archived, whichever is later; null when neither is known.
 */
function cursorFreshAt(msgtime: number | null, caughtUpAt: number | null): number | null {
  const caughtUp = caughtUpAt === null ? null : Number(caughtUpAt);
  if (msgtime === null) return caughtUp;
  return caughtUp === null ? msgtime : Math.max(msgtime, caughtUp);
}
