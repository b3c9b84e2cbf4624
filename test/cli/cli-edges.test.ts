/**
 * The command line's edges on every database: global options before the command name, secrets
 * given without putting them on the command line, and export's refusals (times that are not
 * times, an empty range, an unknown corp, an --out that cannot be written).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app/app.ts';
import { loadConfig } from '../../src/config/config.ts';
import { startSimulator, type RunningSimulator } from '../../src/simulator/server.ts';
import { openStore } from '../../src/store/open-store.ts';
import { runCli } from '../support/cli-runner.ts';
import { describeEachDialect } from '../support/databases.ts';

const MASTER_KEY = '0b'.repeat(32);

describeEachDialect('CLI edges', ({ url }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-edges-'));
  const env = { WECOM_ARCHIVE_MASTER_KEY: MASTER_KEY, WECOM_ARCHIVE_DATA_DIR: join(dir, 'data'), WECOM_ARCHIVE_LOG_LEVEL: 'warn', WECOM_ARCHIVE_MEDIA_CONCURRENCY: '0' };
  let dbUrl = '';
  let sim: RunningSimulator;
  let app: App;
  let corpid = '';

  /** One CLI invocation through main(), as bin/wecom-archive runs it. */
  const cli = (args: string[], options: { stdin?: string; env?: Record<string, string> } = {}) =>
    runCli(args, { cwd: dir, env: { ...env, ...options.env }, ...(options.stdin === undefined ? {} : { stdin: options.stdin }) });

  beforeAll(async () => {
    dbUrl = await url();
    sim = await startSimulator({ messages: 40, seed: 'cli-edges' });
    corpid = sim.corp.corpid;
    app = createApp(loadConfig({ db: dbUrl }, env, dir), await openStore(dbUrl), Buffer.from(MASTER_KEY, 'hex'));
  });
  afterAll(async () => {
    await app?.close();
    await sim?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes global options before the command name as well as after it', async () => {
    const secretFile = join(dir, 'archive-secret');
    writeFileSync(secretFile, `${sim.corp.secret}\n`, { mode: 0o600 });
    const added = await cli(['--db', dbUrl, '--log-level', 'warn', 'corp', 'add', '--corpid', corpid, '--secret-file', secretFile, '--sdk', `simulator:${sim.url}`]);
    expect(added.code, added.stderr).toBe(0);
    // the file's trailing newline is not part of the secret
    expect((await app.corps.get(corpid)).secret).toBe(sim.corp.secret);
    for (const [version, pem] of sim.privateKeyPems) {
      const file = join(dir, `key${version}.pem`);
      writeFileSync(file, pem, { mode: 0o600 });
      const r = await cli([`--db=${dbUrl}`, 'keys', 'add', '--corp', corpid, '--version', String(version), '--file', file]);
      expect(r.code, r.stderr).toBe(0);
    }
    // a switch (no value) before the command name leaves the name where it is
    const listed = await cli(['--log-level=error', '--trust-proxy', 'corp', 'list', '--json', '--db', dbUrl]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((c: { corpid: string }) => c.corpid)).toEqual([corpid]);

    const wrong = await cli(['--json', 'corp', 'list', '--db', dbUrl]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--json is not a global option; options of a command go after its name');
    expect((await cli(['--db'])).stderr).toContain('--db needs a value');
  });

  it('reads secrets from a file, an environment variable or standard input, the value itself last', async () => {
    const proxy = await cli(
      [
        'corp',
        'add',
        '--corpid',
        corpid,
        '--secret',
        'env:ARCHIVE_SECRET',
        '--sdk',
        `simulator:${sim.url}`,
        '--proxy',
        'http://127.0.0.1:3128',
        '--proxy-auth',
        '-',
        '--replace',
        '--db',
        dbUrl,
      ],
      { stdin: 'user:p@ss word\n', env: { ARCHIVE_SECRET: sim.corp.secret } },
    );
    expect(proxy.code, proxy.stderr).toBe(0);
    expect(await app.corps.get(corpid)).toMatchObject({ secret: sim.corp.secret, proxy: 'http://127.0.0.1:3128', proxyAuth: 'user:p@ss word' });
    // back to no proxy, for the run below
    expect((await cli(['corp', 'add', '--corpid', corpid, '--secret', sim.corp.secret, '--sdk', `simulator:${sim.url}`, '--replace', '--db', dbUrl])).code).toBe(0);

    const contactsFile = join(dir, 'contacts-secret');
    writeFileSync(contactsFile, `${sim.api.secrets.contacts}\n`);
    const secrets = await cli(['corp', 'secrets', '--corp', corpid, '--contacts-secret-file', contactsFile, '--customer-secret', '-', '--db', dbUrl], {
      stdin: `${sim.api.secrets.customer}\n`,
    });
    expect(secrets.code, secrets.stderr).toBe(0);
    expect((await app.apiSettings.apiCorp(corpid)).secrets).toMatchObject({ contacts: sim.api.secrets.contacts, customer: sim.api.secrets.customer });

    const callback = sim.api.callbackApps.contacts;
    const keyFile = join(dir, 'aes-key');
    writeFileSync(keyFile, callback.encodingAesKey);
    const added = await cli(['corp', 'callback', 'add', '--corp', corpid, '--app', 'contacts', '--token', 'env:CB_TOKEN', '--aes-key-file', keyFile, '--db', dbUrl], {
      env: { CB_TOKEN: callback.token },
    });
    expect(added.code, added.stderr).toBe(0);
    const stored = await app.callbackApps.find(corpid, 'contacts');
    expect(stored?.token).toBe(callback.token);
    expect(stored?.aesKey).toEqual(Buffer.from(`${callback.encodingAesKey}=`, 'base64'));

    const twice = await cli(['corp', 'callback', 'add', '--corp', corpid, '--app', 'other', '--token', '-', '--aes-key-file', '-', '--db', dbUrl], { stdin: 'x' });
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('only one secret can come from standard input, but --token and --aes-key-file both ask for it');
    const unset = await cli(['corp', 'secrets', '--corp', corpid, '--contacts-secret', 'env:NOT_SET_HERE', '--db', dbUrl]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('the environment variable NOT_SET_HERE is not set');
    const missing = await cli(['corp', 'add', '--corpid', 'wwnosecret', '--sdk', `simulator:${sim.url}`, '--db', dbUrl]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('give it as --secret-file PATH, --secret env:VARIABLE or --secret - (standard input)');
  });

  const times: number[] = [];
  const refused = async (args: string[], code: number, message: string, out?: string) => {
    const r = await cli(['export', ...args, ...(out ? ['--out', out] : []), '--db', dbUrl]);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
    if (out) {
      expect(existsSync(out), out).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
    }
  };

  it('export reads epoch seconds as seconds and 13 digits as milliseconds, and refuses the lengths between', async () => {
    const ran = await cli(['run', '--once', '--db', dbUrl]);
    expect(ran.code, ran.stderr).toBe(0);
    const all = join(dir, 'all.jsonl');
    expect((await cli(['export', '--corp', corpid, '--out', all, '--db', dbUrl])).code).toBe(0);
    times.push(
      ...readFileSync(all, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { msgtime: number }).msgtime),
    );
    expect(times).toHaveLength(40);
    const sorted = [...times].sort((a, b) => a - b);
    // seconds were read as milliseconds: everything since 1970-01-21
    const middle = Math.floor(sorted[20]! / 1000);
    const since = await cli(['export', '--corp', corpid, '--since', String(middle), '--db', dbUrl]);
    expect(since.code, since.stderr).toBe(0);
    const expected = times.filter((t) => t >= middle * 1000).length;
    expect(expected).toBeLessThan(40);
    expect(since.stdout.trimEnd().split('\n')).toHaveLength(expected);
    const millis = await cli(['export', '--corp', corpid, '--since', String(middle * 1000), '--db', dbUrl]);
    expect(millis.stdout.trimEnd().split('\n')).toHaveLength(expected);
    await refused(['--corp', corpid, '--since', '17963900000'], 2, 'has 11 digits, which could be seconds or milliseconds', join(dir, 'out.jsonl'));
  });

  it('export refuses a date that is not on the calendar', async () => {
    await refused(['--corp', corpid, '--since', '2026-02-30'], 2, '--since "2026-02-30" is not a date: 2026-02 has 28 days', join(dir, 'out.jsonl'));
  });

  it('export refuses --since not before --until', async () => {
    await refused(['--corp', corpid, '--since', '2026-11-02', '--until', '2026-11-01'], 2, '--since 2026-11-02 is not before --until 2026-11-01', join(dir, 'out.jsonl'));
  });

  it('export refuses an unknown corp and creates no file; a removed corp keeps its archive and can be exported', async () => {
    await refused(['--corp', 'NOPE'], 3, 'corp NOPE is unknown', join(dir, 'out.jsonl'));
    expect((await cli(['corp', 'remove', '--corpid', corpid, '--db', dbUrl])).code).toBe(0);
    const kept = await cli(['export', '--corp', corpid, '--db', dbUrl]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout.trimEnd().split('\n')).toHaveLength(40);
  });

  it('export names an --out it cannot write instead of failing with a stack trace', async () => {
    mkdirSync(join(dir, 'a-directory'));
    await refused(['--corp', corpid, '--out', join(dir, 'a-directory')], 2, `--out ${join(dir, 'a-directory')} is a directory`);
    expect(existsSync(join(dir, 'a-directory.partial'))).toBe(false);
    await refused(['--corp', corpid], 2, `the directory ${join(dir, 'nowhere')} does not exist`, join(dir, 'nowhere', 'x.jsonl'));
  });
});
