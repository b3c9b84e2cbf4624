/**
 * What the access commands share: the grant flags and the operator named in the audit rows.
 *
 * Grant flags: `--corp ID` (a whole corp), `--department CORPID:ID` (the conversations of that
 * department's members), `--conversation CORPID:KEY` (one conversation, its key as the archive shows
 * it, e.g. `ww…:room:wr…`), `--export` (a viewer may export). Departments and conversations always
 * name their corp, so a `--corp` given beside them is a grant of its own, never their qualifier.
 */
import { userInfo } from 'node:os';
import type { Actor, GrantSpec } from '../../access/account-admin.ts';
import { parseDuration } from '../../access/durations.ts';
import type { App } from '../../app/app.ts';
import { ValidationError } from '../../errors/errors.ts';
import type { OptionSpec, OptionValues } from '../command.ts';
import { parseTimeOption } from '../time-option.ts';

export const GRANT_OPTIONS: OptionSpec = {
  corp: { type: 'string', multiple: true },
  department: { type: 'string', multiple: true },
  conversation: { type: 'string', multiple: true },
  export: { type: 'boolean' },
};

export const GRANT_USAGE = '[--corp ID]... [--department CORPID:ID]... [--conversation CORPID:KEY]... [--export]';

function list(values: OptionValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : [];
}

/** `CORPID:REST` split at its first colon, or a ValidationError naming the flag and the form. */
function qualified(flag: string, text: string, form: string): { corpid: string; rest: string } {
  const at = text.indexOf(':');
  if (at <= 0 || at === text.length - 1) throw new ValidationError('GRANT_INVALID', `--${flag} takes ${form}, got ${JSON.stringify(text.slice(0, 80))}`);
  return { corpid: text.slice(0, at), rest: text.slice(at + 1) };
}

/** The grants named by the grant flags, in the order given. */
export function grantsFromFlags(values: OptionValues): GrantSpec[] {
  const grants: GrantSpec[] = list(values, 'corp').map((corpid) => ({ kind: 'corp', corpid }));
  for (const text of list(values, 'department')) {
    const { corpid, rest } = qualified('department', text, 'CORPID:DEPARTMENT_ID, e.g. ww1234567890abcdef:12');
    if (!/^\d{1,10}$/.test(rest)) throw new ValidationError('GRANT_INVALID', `--department ${text}: the department id is a number`);
    grants.push({ kind: 'department', corpid, departmentId: Number(rest) });
  }
  for (const text of list(values, 'conversation')) {
    const { corpid, rest } = qualified('conversation', text, 'CORPID:KEY, e.g. ww1234567890abcdef:room:wrABC');
    grants.push({ kind: 'conversation', corpid, conversation: rest });
  }
  if (values.export === true) grants.push({ kind: 'export' });
  return grants;
}

/** The one USERNAME positional of `users disable U` and the like. */
export function oneName(positionals: readonly string[], usage: string): string {
  if (positionals.length !== 1) throw new ValidationError('USAGE', `give exactly one username\nusage: wecom-archive ${usage}`);
  return positionals[0]!;
}

/** The operator at the command line, as the audit rows name it: the OS user, with no role. */
export function cliActor(env: Readonly<Record<string, string | undefined>>): Actor {
  let username: string | undefined;
  try {
    username = userInfo().username;
  } catch {
    username = env.USER ?? env.LOGNAME;
  }
  return { username: username || 'unknown', requestId: 'cli' };
}

/**
 * Writes the audit row of an operator's change made on the command line (who ran it, what, which
 * corp, how many), as the HTTP routes write theirs for the same change.
 */
export function auditCliChange(
  app: App,
  env: Readonly<Record<string, string | undefined>>,
  change: { action: string; corpid: string | undefined; query: Record<string, unknown>; items?: number },
): Promise<void> {
  return app.access.audit.record({
    userId: undefined,
    username: cliActor(env).username,
    role: undefined,
    action: change.action,
    corpid: change.corpid,
    conversation: undefined,
    query: change.query,
    items: change.items,
    reason: undefined,
    ip: undefined,
    userAgent: undefined,
    requestId: 'cli',
  });
}

/** `--expires`: a duration from now (90d) or a time (2027-01-31); undefined when not given. */
export function parseExpiry(text: string | undefined, now: number): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d+[smhd]$/.test(text.trim())) return now + parseDuration(text, '--expires');
  return parseTimeOption(text, 'expires');
}
