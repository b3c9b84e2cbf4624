/**
 * What a jump in seq means. WeCom drops data older than its 5-day window and then silently goes on
 * at the oldest seq it still has: that is a loss (docs/design.md rule 8). But WeCom does not promise
 * contiguous seq values either, so a jump while the cursor is well inside the window loses nothing:
 * whatever came after the cursor came after it in time, too recently to have been dropped.
 */

/** WeCom keeps archive data for 5 days. */
export const WECOM_RETENTION_MS = 5 * 24 * 3600_000;

/**
 * A jump is taken for a loss once the cursor is this close to the window's edge: WeCom's own clock,
 * msgtime (the sender's time, not WeCom's arrival time) and the archive's clock may disagree by
 * minutes, and a gap that is a loss must never be shown as harmless.
 */
export const GAP_LOSS_MARGIN_MS = 6 * 3600_000;

/** 'loss': data may have fallen out of WeCom's window; 'jump': seq skipped values while nothing could. */
import type { GapKind } from '../store/vocabulary.ts';
export type { GapKind };

export interface GapVerdict {
  kind: GapKind;
  /** how old the cursor was when the jump came; null: not known (counted as a loss) */
  cursorAgeMs: number | null;
}

/**
 * Classifies a jump from the cursor to the next seq WeCom served.
 *
 * @param at when the page came
 * @param cursorFreshAt the latest instant known to have nothing unpulled before it: the last
 *   catch-up (a page that was not full), or the time of the cursor's own message, whichever is later.
 *   Anything WeCom skipped arrived after it. null when neither is known.
 */
export function classifyGap(at: number, cursorFreshAt: number | null): GapVerdict {
  if (cursorFreshAt === null) return { kind: 'loss', cursorAgeMs: null };
  const cursorAgeMs = Math.max(0, at - cursorFreshAt);
  return { kind: cursorAgeMs > WECOM_RETENTION_MS - GAP_LOSS_MARGIN_MS ? 'loss' : 'jump', cursorAgeMs };
}

/** "3.2 h", "4 d 20 h": an age for notes and status lines. */
export function formatAge(ms: number): string {
  const hours = ms / 3600_000;
  if (hours < 48) return `${Math.round(hours * 10) / 10} h`;
  const days = Math.floor(hours / 24);
  return `${days} d ${Math.round(hours - days * 24)} h`;
}
