/**
 * What the pull loop does after a failed GetChatData: retry with backoff, or stop the corp with a
 * clear status until its configuration is fixed. The policy is data here, not loops scattered in callers.
 */
import { ArchiveError } from '../errors/errors.ts';
import { WeComApiError, WeComSdkError } from '../errors/wecom-codes.ts';
import type { PullState } from '../store/vocabulary.ts';

/** How a corp's pull goes, as its cursor row and `status` show it: 'stopped' waits for a change of configuration. */
export type { PullState };

export type PullVerdict = { action: 'retry'; code: number | null } | { action: 'stop'; code: number | null };

/** WeCom answers that only a change of configuration can fix. */
const CONFIGURATION_API_CODES = new Set([40001, 40013, 48002, 60020, 301042, 301052, 301053]);

export function classifyPullError(err: unknown): PullVerdict {
  if (err instanceof WeComSdkError) return { action: err.transient ? 'retry' : 'stop', code: err.wecomCode };
  // A JSON-level errcode inside a successful call is retried, unless it names a configuration problem.
  if (err instanceof WeComApiError) return { action: CONFIGURATION_API_CODES.has(err.wecomCode) ? 'stop' : 'retry', code: err.wecomCode };
  if (err instanceof ArchiveError && err.kind === 'invalid') return { action: 'stop', code: null };
  // Database hiccups, worker restarts and the like: retry; nothing was committed.
  return { action: 'retry', code: null };
}
