/**
 * The access settings an admin changes at run time (`settings set`), kept in the `settings` table.
 * Timeouts are read when a session opens and fixed in its row, so a change applies to new sessions.
 */
import type { Kysely } from 'kysely';
import { ValidationError } from '../errors/errors.ts';
import type { Database } from '../store/schema.ts';
import { formatDuration, parseDuration } from './durations.ts';

export interface AccessSettings {
  /** viewers give a reason (a case number or free text) before they open a conversation or search */
  readonly requireReason: boolean;
  /** pages that show messages carry the viewer's name and the date, so a screenshot says who took it */
  readonly watermark: boolean;
  readonly sessionIdleMs: number;
  readonly sessionAbsoluteMs: number;
  /** how long an account stays locked after 10 failed logins in a row */
  readonly lockoutMs: number;
}

export const DEFAULT_ACCESS_SETTINGS: AccessSettings = Object.freeze({
  requireReason: false,
  watermark: true,
  sessionIdleMs: 30 * 60_000,
  sessionAbsoluteMs: 12 * 3_600_000,
  lockoutMs: 15 * 60_000,
});

type SettingSpec = {
  readonly field: keyof AccessSettings;
  readonly forms: string;
  /** the value as stored, or a ValidationError */
  normalize(text: string): string;
  read(stored: string): boolean | number;
};

const ON_OFF = /^(on|off)$/;

const onOff = (field: keyof AccessSettings, name: string): SettingSpec => ({
  field,
  forms: 'on or off',
  normalize(text) {
    const value = text.trim().toLowerCase();
    if (!ON_OFF.test(value)) throw new ValidationError('SETTING_INVALID', `${name} is on or off, not ${JSON.stringify(text.slice(0, 40))}`);
    return value;
  },
  read: (stored) => stored === 'on',
});

const duration = (field: keyof AccessSettings, name: string, maxMs: number): SettingSpec => ({
  field,
  forms: 'a duration such as 30m or 12h',
  normalize(text) {
    const ms = parseDuration(text, name);
    if (ms > maxMs) throw new ValidationError('SETTING_INVALID', `${name} must be at most ${formatDuration(maxMs)}`);
    return formatDuration(ms);
  },
  read: (stored) => parseDuration(stored, name),
});

/** Every setting `settings set` takes, by name. */
export const ACCESS_SETTINGS: Readonly<Record<string, SettingSpec>> = Object.freeze({
  require_reason: onOff('requireReason', 'require_reason'),
  watermark: onOff('watermark', 'watermark'),
  session_idle: duration('sessionIdleMs', 'session_idle', 7 * 86_400_000),
  session_absolute: duration('sessionAbsoluteMs', 'session_absolute', 90 * 86_400_000),
  lockout: duration('lockoutMs', 'lockout', 7 * 86_400_000),
});

/** The stored form of `value` for setting `name`, or a ValidationError naming the settings there are. */
export function normalizeSetting(name: string, value: string): string {
  const spec = Object.hasOwn(ACCESS_SETTINGS, name) ? ACCESS_SETTINGS[name] : undefined;
  if (!spec) throw new ValidationError('SETTING_INVALID', `there is no setting ${JSON.stringify(name.slice(0, 40))}; the settings are ${Object.keys(ACCESS_SETTINGS).join(', ')}`);
  return spec.normalize(value);
}

/** The settings in force: the stored ones over the defaults (a stored value that no longer parses is ignored). */
export async function readAccessSettings(db: Kysely<Database>): Promise<AccessSettings> {
  const rows = await db.selectFrom('settings').select(['name', 'value']).execute();
  const settings: Record<string, boolean | number> = { ...DEFAULT_ACCESS_SETTINGS };
  for (const row of rows) {
    const spec = Object.hasOwn(ACCESS_SETTINGS, row.name) ? ACCESS_SETTINGS[row.name] : undefined;
    if (!spec) continue;
    try {
      settings[spec.field] = spec.read(row.value);
    } catch {
      // a value written by a later version: the default holds
    }
  }
  return settings as unknown as AccessSettings;
}

/** The settings as `settings list` shows them: each name with its value in force. */
export function describeSettings(settings: AccessSettings): Array<{ name: string; value: string }> {
  return [
    { name: 'require_reason', value: settings.requireReason ? 'on' : 'off' },
    { name: 'watermark', value: settings.watermark ? 'on' : 'off' },
    { name: 'session_idle', value: formatDuration(settings.sessionIdleMs) },
    { name: 'session_absolute', value: formatDuration(settings.sessionAbsoluteMs) },
    { name: 'lockout', value: formatDuration(settings.lockoutMs) },
  ];
}
