import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEnvelope, parseChatData } from '../../../test/support/chat-data.ts';
import { rsaPemPair } from '../../../test/support/rsa-pem.ts';
import { readSimulatorConfig } from '../../corps/corp-import-file.ts';
import { createSimulatorBackend } from '../../sdk/simulator-backend.ts';
import { startSimulator } from '../server.ts';
import { parseSimulatorFlags, runSimulatorCommand } from './cli.ts';
import { parseFixtureLines } from './fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wecom-sim-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the command until it has written its config, then stops it like SIGINT would. */
async function runUntilReady(argv: string[], configFile: string): Promise<{ lines: string[]; stop: () => Promise<void> }> {
  const lines: string[] = [];
  const ac = new AbortController();
  const done = runSimulatorCommand(argv, { out: (l) => lines.push(l), signal: ac.signal });
  for (let k = 0; k < 200 && !lines.some((l) => l.includes(configFile)); k++) {
    await Promise.race([done, new Promise((r) => setTimeout(r, 50))]);
  }
  return {
    lines,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

describe('simulator flags', () => {
  it('reports every bad flag at once', () => {
    let message = '';
    try {
      parseSimulatorFlags([
        '--port',
        '99999',
        '--rate',
        'fast',
        '--seq-start',
        '18446744073709551616',
        '--messages',
        '5',
        '--fixtures',
        'f.jsonl',
        '--fault',
        'chatdata:1',
        '--key-schedule',
        '2:0,1:5',
      ]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/--port must be an integer 0–65535/);
    expect(message).toMatch(/--rate must be a number/);
    expect(message).toMatch(/--seq-start must be an integer 0–18446744073709551615/);
    expect(message).toMatch(/--fixtures and --messages exclude each other/);
    expect(message).toMatch(/fault "chatdata:1"/);
    expect(message).toMatch(/versions must increase/);
  });

  it('refuses unknown flags and keys outside the schedule', () => {
    expect(() => parseSimulatorFlags(['--bogus'])).toThrow(/usage: wecom-archive simulator/);
    expect(() => parseSimulatorFlags(['--public-key', '3=k.pem', '--key-schedule', '1:0'])).toThrow(/not in --key-schedule/);
    expect(() => parseSimulatorFlags(['--public-key', '1=a.pem', '--public-key', '2=b.pem'])).toThrow(/give --key-schedule/);
    expect(() => parseSimulatorFlags(['--public-key', 'one=a.pem'])).toThrow(/VERSION=PEMFILE/);
  });

  it('reads numbers exactly', () => {
    const { options } = parseSimulatorFlags([
      '--port',
      '0',
      '--seq-start',
      '18446744073709551000',
      '--rate',
      '2.5',
      '--span',
      '3h',
      '--now',
      '2025-03-01T09:00:00Z',
      '--fault',
      'media:delay=100x2',
    ]);
    expect(options).toMatchObject({ port: 0, seqStart: 18446744073709551000n, rate: 2.5, spanMs: 3 * 3_600_000, now: Date.UTC(2025, 2, 1, 9) });
    expect(options.faults).toEqual([{ op: 'media', kind: 'delay', ms: 100, count: 2 }]);
  });

  it('takes a callback URL and a notify interval, and refuses bad ones', () => {
    expect(parseSimulatorFlags(['--callback-url', 'http://127.0.0.1:8080/callback/']).callbacks).toEqual({ url: 'http://127.0.0.1:8080/callback', notifyMs: 5_000 });
    expect(parseSimulatorFlags(['--callback-url', 'https://archive.example/callback', '--notify-interval', '250ms']).callbacks).toEqual({
      url: 'https://archive.example/callback',
      notifyMs: 250,
    });
    expect(parseSimulatorFlags([]).callbacks).toBeUndefined();
    expect(() => parseSimulatorFlags(['--callback-url', 'ftp://127.0.0.1/callback'])).toThrow(/--callback-url must be/);
    expect(() => parseSimulatorFlags(['--callback-url', 'http://127.0.0.1:8080', '--notify-interval', '5'])).toThrow(/--notify-interval must be a duration/);
    expect(() => parseSimulatorFlags(['--notify-interval', '5s'])).toThrow(/--notify-interval needs --callback-url/);
  });
});

describe('wecom-archive simulator', () => {
  it('listens, writes a 0600 config the archive can import, never prints secrets, stops on signal', async () => {
    const configFile = join(dir, 'sim.json');
    const run = await runUntilReady(['--port', '0', '--messages', '30', '--seed', 'cli', '--key-schedule', '1:0,2:10', '--write-config', configFile], configFile);
    try {
      const text = await readFile(configFile, 'utf8');
      expect((await stat(configFile)).mode & 0o777).toBe(0o600);
      const doc = JSON.parse(text);
      expect(Object.keys(doc)).toEqual(['format', 'corps']);
      expect(doc.format).toBe('wecom-archive-simulator/1');
      const [corp] = doc.corps;
      expect(Object.keys(corp)).toEqual(['corpid', 'secret', 'sdk', 'keys', 'contactsSecret', 'customerSecret', 'callbacks']);
      expect(corp.corpid).toMatch(/^ww[0-9a-f]{16}$/);
      expect(corp.sdk).toMatch(/^simulator:http:\/\/127\.0\.0\.1:\d+$/);
      expect(corp.keys.map((k: { version: number }) => k.version)).toEqual([1, 2]);
      expect(corp.keys[0].privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      // the lead's importer accepts it, with the directory's secrets and the callback apps
      const [imported] = readSimulatorConfig(text, dir);
      expect(imported?.corp.corpid).toBe(corp.corpid);
      expect(imported?.apiSecrets).toEqual({ contactsSecret: corp.contactsSecret, customerSecret: corp.customerSecret });
      expect(imported?.callbacks.map((c) => c.app)).toEqual(['contacts', 'customer', 'archive']);
      expect(imported?.callbacks.every((c) => c.token.length > 0 && c.aesKey.length === 43)).toBe(true);

      const output = run.lines.join('\n');
      expect(output).toContain(`listening on ${corp.sdk.slice('simulator:'.length)}`);
      for (const secret of [corp.secret, corp.contactsSecret, corp.customerSecret, ...corp.callbacks.flatMap((c: { token: string; aesKey: string }) => [c.token, c.aesKey])])
        expect(output).not.toContain(secret);
      expect(output).not.toContain('PRIVATE KEY');

      // the config is enough to archive: fetch and decrypt message 15 (key version 2)
      const sdk = createSimulatorBackend({ url: corp.sdk, corpid: corp.corpid, secret: corp.secret });
      const [env] = parseChatData(await sdk.getChatData({ seq: 15n, limit: 1, proxy: '', passwd: '', timeoutS: 5 })).chatdata;
      expect(env?.publickey_ver).toBe(2);
      const keys = new Map<number, ReturnType<typeof createPrivateKey>>(
        corp.keys.map((k: { version: number; privateKeyPem: string }) => [k.version, createPrivateKey(k.privateKeyPem)]),
      );
      expect(openEnvelope(env as never, keys).toString('utf8')).toContain('"msgid"');
      await sdk.close();
    } finally {
      await run.stop();
    }
    expect(run.lines[run.lines.length - 1]).toBe('simulator stopped');
  });

  it('sends msgaudit_notify to --callback-url when new messages arrive', async () => {
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end('success'));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const configFile = join(dir, 'notify.json');
    const run = await runUntilReady(
      ['--port', '0', '--messages', '0', '--rate', '20', '--callback-url', `http://127.0.0.1:${port}/callback`, '--notify-interval', '200ms', '--write-config', configFile],
      configFile,
    );
    try {
      const { corpid } = JSON.parse(await readFile(configFile, 'utf8')).corps[0];
      expect(run.lines.join('\n')).toContain(`callbacks go to http://127.0.0.1:${port}/callback/${corpid}/{contacts,customer,archive}`);
      for (let i = 0; i < 100 && paths.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(paths[0]).toMatch(new RegExp(`^/callback/${corpid}/archive\\?msg_signature=[0-9a-f]{40}&timestamp=\\d+&nonce=`));
    } finally {
      await run.stop();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('uses given keys: a public key keeps its private half out of the config, a private key is handed on', async () => {
    await writeFile(join(dir, 'pub.pem'), rsaPemPair(2048).publicKey);
    await writeFile(join(dir, 'priv.pem'), rsaPemPair(2048, 'pkcs1').privateKey);
    const configFile = join(dir, 'keys.json');
    const run = await runUntilReady(
      [
        '--port',
        '0',
        '--messages',
        '5',
        '--public-key',
        `3=${join(dir, 'pub.pem')}`,
        '--private-key',
        `4=${join(dir, 'priv.pem')}`,
        '--key-schedule',
        '3:0,4:3',
        '--write-config',
        configFile,
      ],
      configFile,
    );
    try {
      const doc = JSON.parse(await readFile(configFile, 'utf8'));
      expect(doc.corps[0].keys.map((k: { version: number }) => k.version)).toEqual([4]);
      expect(run.lines.join('\n')).toContain('3 (public key only)');
    } finally {
      await run.stop();
    }
    await expect(runSimulatorCommand(['--port', '0', '--public-key', `1=${join(dir, 'priv.pem')}`], { out: () => undefined })).rejects.toThrow(/holds a private key/);
    await expect(runSimulatorCommand(['--port', '0', '--fixtures', join(dir, 'missing.jsonl')], { out: () => undefined })).rejects.toThrow(/cannot read fixtures file/);
  });

  it('serves a fixtures file in order, including a JSON-string line with raw newlines', async () => {
    const file = join(dir, 'fx.jsonl');
    const withNewline = '{"msgid":"b","msgtype":"text","text":{"content":"line1\nline2"}}';
    await writeFile(file, `{"msgid":"a","msgtype":"text","text":{"content":"x\u0001y"}}\r\n\n${JSON.stringify(withNewline)}\n`);
    const sim = await startSimulator({ fixtures: parseFixtureLines(await readFile(file)) });
    try {
      expect(sim.plaintextOf(0).toString('utf8')).toBe('{"msgid":"a","msgtype":"text","text":{"content":"x\u0001y"}}');
      expect(sim.plaintextOf(1).toString('utf8')).toBe(withNewline);
      expect(sim.state().messages).toBe(2);
    } finally {
      await sim.close();
    }
  });
});
