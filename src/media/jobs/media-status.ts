/**
 * Media counts for `status`: jobs by state per corp, bytes stored, voice copies,
 * and the latest failures with their WeCom codes.
 */
import type { Kysely } from 'kysely';
import type { Database, MediaState } from '../../store/schema.ts';
import { latestMediaFailures, mediaStateTotals, voiceCopyTotals } from './media-job-repository.ts';

export interface MediaStatus {
  /** every state, 0 when none */
  states: Record<MediaState, number>;
  /** bytes of files stored (done, unverified, and failed ones kept) */
  bytes: number;
  /** voice recordings with a browser-playable copy, and ones that could not be converted */
  voices: { converted: number; notConverted: number };
  /** the latest failed or expired jobs, newest first */
  latestFailures: Array<{ msgid: string; kind: string; state: string; errorCode: number | null; error: string | null }>;
}

const STATES: readonly MediaState[] = ['pending', 'downloading', 'done', 'unverified', 'failed', 'expired'];

export function emptyMediaStatus(): MediaStatus {
  return { states: Object.fromEntries(STATES.map((s) => [s, 0])) as Record<MediaState, number>, bytes: 0, voices: { converted: 0, notConverted: 0 }, latestFailures: [] };
}

/** Media status of every corp that has media jobs. */
export async function mediaStatuses(db: Kysely<Database>): Promise<Map<string, MediaStatus>> {
  const [byState, voices] = await Promise.all([mediaStateTotals(db), voiceCopyTotals(db)]);
  const out = new Map<string, MediaStatus>();
  const of = (corpid: string): MediaStatus => {
    let s = out.get(corpid);
    if (!s) out.set(corpid, (s = emptyMediaStatus()));
    return s;
  };
  for (const row of byState) {
    const s = of(row.corpid);
    if (STATES.includes(row.state)) s.states[row.state] = Number(row.n);
    if (row.state === 'done' || row.state === 'unverified' || row.state === 'failed') s.bytes += Number(row.bytes ?? 0);
  }
  for (const row of voices) of(row.corpid).voices = { converted: Number(row.converted), notConverted: Number(row.failed) };
  for (const [corpid, s] of out) {
    if (s.states.failed + s.states.expired === 0) continue;
    const rows = await latestMediaFailures(db, corpid, 3);
    s.latestFailures = rows.map((r) => ({ msgid: r.msgid, kind: r.kind, state: r.state, errorCode: r.error_code, error: r.error }));
  }
  return out;
}

/** A failed or expired job for the operations page: which file and why, never the message's content. */
export interface MediaFailure {
  id: number;
  msgid: string;
  kind: string;
  state: string;
  fileName: string | null;
  errorCode: number | null;
  error: string | null;
  attempts: number;
  updatedAt: number;
}

/** The corp's latest `limit` failed or expired jobs, newest first. */
export async function mediaFailures(db: Kysely<Database>, corpid: string, limit: number): Promise<MediaFailure[]> {
  const rows = await latestMediaFailures(db, corpid, limit);
  return rows.map((r) => ({
    id: Number(r.id),
    msgid: r.msgid,
    kind: r.kind,
    state: r.state,
    fileName: r.file_name,
    errorCode: r.error_code === null ? null : Number(r.error_code),
    error: r.error,
    attempts: Number(r.attempts),
    updatedAt: Number(r.updated_at),
  }));
}
