/**
 * Access reasons. When the archive requires one (setting `require_reason`, for viewers), a read of
 * a conversation's content or a search answers 428 `REASON_REQUIRED`: the UI asks the reader for a
 * reason (a case number or free text), then repeats the request with `X-Access-Reason`. A reason is
 * kept per subject (a conversation while it stays open, or the search page), so reading on does not
 * ask again; the reason dialog in App.vue answers the questions asked here.
 */
import { ref } from 'vue';
import { ApiError } from './client.ts';

export const REASON_MAX_CHARS = 200;
export const REASON_HEADER = 'X-Access-Reason';

/** A question the reason dialog is showing; settled with the reason, or null when the reader cancels. */
export interface ReasonQuestion {
  readonly subject: string;
  answer(reason: string | null): void;
}

/** The question the dialog shows now (one at a time; later ones wait for it). */
export const reasonQuestion = ref<ReasonQuestion | null>(null);

const reasons = new Map<string, string>();
let pending: Promise<string | null> | null = null;

/** A reason as the API takes it: trimmed, 1–200 characters, no control characters; else undefined. */
export function cleanReason(text: string): string | undefined {
  const reason = text.trim();
  const chars = Array.from(reason).length;
  return chars >= 1 && chars <= REASON_MAX_CHARS && !/[\u0000-\u001f\u007f]/.test(reason) ? reason : undefined;
}

/** The header that carries a reason: UTF-8 percent-encoded, since a header holds ASCII only. */
export function reasonHeaders(subject: string): Record<string, string> {
  const reason = reasons.get(subject);
  return reason === undefined ? {} : { [REASON_HEADER]: encodeURIComponent(reason) };
}

/** Forgets the reason of a subject (the conversation was closed). */
export function forgetReason(subject: string): void {
  reasons.delete(subject);
}

/** Asks the reader, through the dialog, for the reason to read `subject`. */
function askReason(subject: string): Promise<string | null> {
  // several reads of one page may be refused at once: one dialog answers them all
  pending ??= new Promise<string | null>((resolve) => {
    reasonQuestion.value = {
      subject,
      answer(reason) {
        reasonQuestion.value = null;
        pending = null;
        resolve(reason);
      },
    };
  });
  return pending;
}

/** The reader declined to give a reason: the read is not made. */
export class ReasonDeclined extends Error {
  constructor() {
    super('no access reason given');
    this.name = 'ReasonDeclined';
  }
}

/**
 * Runs `read` with the subject's reason header; when the API asks for a reason, asks the reader and
 * runs it once more with theirs. A reason the API refuses (400 REASON_INVALID) is forgotten.
 */
export async function withReason<T>(subject: string, read: (headers: Record<string, string>) => Promise<T>): Promise<T> {
  try {
    return await read(reasonHeaders(subject));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 428 || err.code !== 'REASON_REQUIRED') throw err;
  }
  const reason = await askReason(subject);
  if (reason === null) throw new ReasonDeclined();
  reasons.set(subject, reason);
  try {
    return await read(reasonHeaders(subject));
  } catch (err) {
    if (err instanceof ApiError && (err.code === 'REASON_INVALID' || err.code === 'REASON_REQUIRED')) reasons.delete(subject);
    throw err;
  }
}
