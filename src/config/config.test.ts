import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/errors.ts';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('defaults to SQLite in ./data and port 8080', () => {
    const config = loadConfig({}, {}, '/srv/wa');
    expect(config).toMatchObject({ dataDir: '/srv/wa/data', dbUrl: 'sqlite:/srv/wa/data/archive.db', port: 8080, logLevel: 'info' });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes the environment, and flags over the environment', () => {
    const env = { WECOM_ARCHIVE_DB: 'postgres://u@db/archive', WECOM_ARCHIVE_DATA_DIR: '/var/lib/wa', WECOM_ARCHIVE_PORT: '9000' };
    expect(loadConfig({}, env, '/').dbUrl).toBe('postgres://u@db/archive');
    const config = loadConfig({ db: 'sqlite:rel/a.db', port: '81' }, env, '/srv');
    expect(config).toMatchObject({ dbUrl: 'sqlite:/srv/rel/a.db', dataDir: '/var/lib/wa', port: 81 });
  });

  it('reports every bad setting at once, naming where it came from', () => {
    let error: unknown;
    try {
      loadConfig({ port: 'eighty' }, { WECOM_ARCHIVE_DB: 'oracle://x', WECOM_ARCHIVE_LOG_LEVEL: 'loud' }, '/');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain('--port must be a port number');
    expect(message).toContain('WECOM_ARCHIVE_DB must be sqlite:PATH');
    expect(message).toContain('WECOM_ARCHIVE_LOG_LEVEL must be one of');
  });

  it('indexes for search unless told not to, and refuses anything but on or off', () => {
    expect(loadConfig({}, {}, '/').searchIndex).toBe(true);
    expect(loadConfig({}, { WECOM_ARCHIVE_SEARCH_INDEX: 'off' }, '/').searchIndex).toBe(false);
    expect(loadConfig({ 'search-index': 'on' }, { WECOM_ARCHIVE_SEARCH_INDEX: 'off' }, '/').searchIndex).toBe(true);
    expect(() => loadConfig({ 'search-index': 'no' }, {}, '/')).toThrow('--search-index must be on or off, got "no"');
  });

  it('refuses directories that can never be created, before anything tries to make them', () => {
    const problems = (flags: Parameters<typeof loadConfig>[0], env: Record<string, string>): string => {
      try {
        loadConfig(flags, env, '/');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(problems({}, { WECOM_ARCHIVE_DATA_DIR: '/proc/nope' })).toContain('WECOM_ARCHIVE_DATA_DIR: cannot use /proc/nope: it is under /proc');
    expect(problems({ 'data-dir': '/sys/x/y' }, {})).toContain('--data-dir: cannot use /sys/x/y: it is under /sys');
    expect(problems({ db: 'sqlite:/dev/null/x/a.db' }, {})).toContain('--db: cannot use /dev/null/x: /dev/null is not a directory');
    expect(problems({ 'media-store': '/proc/self/media' }, {})).toContain('--media-store: cannot use /proc/self/media');
    // inside the data directory: reported once, for the data directory
    const once = problems({}, { WECOM_ARCHIVE_DATA_DIR: '/proc/nope' });
    expect(once.split('/proc/nope').length).toBe(2);
  });

  it('reads the metrics token from its file or the environment, and refuses a weak one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wa-config-'));
    try {
      writeFileSync(join(dir, 'token'), 'file-token-0123456789abcdef\n');
      expect(loadConfig({ 'metrics-token-file': 'token' }, { WECOM_ARCHIVE_METRICS_TOKEN: 'env-token-0123456789abcdef' }, dir).ops.metricsToken).toBe(
        'file-token-0123456789abcdef',
      );
      expect(loadConfig({}, { WECOM_ARCHIVE_METRICS_TOKEN: 'env-token-0123456789abcdef' }, dir).ops.metricsToken).toBe('env-token-0123456789abcdef');
      expect(loadConfig({}, {}, dir).ops.metricsToken).toBeUndefined();
      expect(() => loadConfig({}, { WECOM_ARCHIVE_METRICS_TOKEN: 'short' }, dir)).toThrow(
        'WECOM_ARCHIVE_METRICS_TOKEN: the metrics token must be 16–512 printable ASCII characters',
      );
      expect(() => loadConfig({}, { WECOM_ARCHIVE_METRICS_TOKEN: 'has a space in it somewhere' }, dir)).toThrow('the metrics token must be');
      expect(() => loadConfig({ 'metrics-token-file': 'missing' }, {}, dir)).toThrow(`--metrics-token-file: cannot read ${join(dir, 'missing')}: ENOENT`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the alert settings, and names a bad URL without repeating it', () => {
    const alerts = loadConfig({}, { WECOM_ARCHIVE_ALERT_ROBOT_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1', WECOM_ARCHIVE_ALERT_HOURS_LEFT: '12' }, '/').ops
      .alerts;
    expect(alerts).toMatchObject({
      robotUrl: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1',
      webhookUrl: undefined,
      hoursLeft: 12,
      throttleMinutes: 15,
      maxPerHour: 20,
    });
    let message = '';
    try {
      loadConfig(
        {},
        { WECOM_ARCHIVE_ALERT_WEBHOOK_URL: 'ftp://secret-token@host/', WECOM_ARCHIVE_ALERT_ROBOT_URL: 'https://host/send', WECOM_ARCHIVE_ALERT_MAX_PER_HOUR: '0' },
        '/',
      );
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('WECOM_ARCHIVE_ALERT_WEBHOOK_URL must be an http(s):// URL');
    expect(message).toContain("WECOM_ARCHIVE_ALERT_ROBOT_URL must carry the robot's key");
    expect(message).toContain('WECOM_ARCHIVE_ALERT_MAX_PER_HOUR must be an integer 1–10000');
    expect(message).not.toContain('secret-token');
  });

  it('trusts a proxy only when told to, by flag or environment, and reads the sign-in limits', () => {
    expect(loadConfig({}, {}, '/').http).toEqual({ trustProxy: false, loginPerIp: 30, loginPerUsername: 10, loginWindowS: 60 });
    expect(loadConfig({ 'trust-proxy': true }, {}, '/').http.trustProxy).toBe(true);
    expect(loadConfig({}, { WECOM_ARCHIVE_TRUST_PROXY: '1', WECOM_ARCHIVE_LOGIN_PER_IP: '5', WECOM_ARCHIVE_LOGIN_WINDOW_S: '600' }, '/').http).toEqual({
      trustProxy: true,
      loginPerIp: 5,
      loginPerUsername: 10,
      loginWindowS: 600,
    });
    expect(() => loadConfig({}, { WECOM_ARCHIVE_TRUST_PROXY: 'maybe', WECOM_ARCHIVE_LOGIN_PER_USERNAME: '0' }, '/')).toThrow(
      /WECOM_ARCHIVE_TRUST_PROXY must be 1 or 0[\s\S]*WECOM_ARCHIVE_LOGIN_PER_USERNAME must be an integer 1–100000, got "0"/,
    );
  });
});
