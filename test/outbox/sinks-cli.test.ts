import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.ts';
import { archiveEnv } from '../support/archive-process.ts';
import { addSimulatorCorp, appOn } from '../support/archive-harness.ts';
import { runCli } from '../support/cli-runner.ts';
import { useSimulators } from '../support/simulators.ts';

const startSim = useSimulators();

describe('sinks commands', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-sinks-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('validate type and URL (exit 2), print a generated webhook secret once and never list it, remove and replay by id', async () => {
    const db = `sqlite:${join(dir, 'archive.db')}`;
    const sim = await startSim({ messages: 1, seed: 'sinks-cli' });
    const store = await openStore(db);
    await addSimulatorCorp(appOn(store), sim);
    const env = archiveEnv({ WECOM_ARCHIVE_DB: db, WECOM_ARCHIVE_DATA_DIR: dir, WECOM_ARCHIVE_LOG_LEVEL: 'error' });
    const cli = (...args: string[]) => runCli(args, { cwd: dir, env });
    const corp = sim.corp.corpid;
    try {
      const bad = [
        [['--type', 'kafka', '--url', 'http://h/x'], /--type must be one of webhook, nats/],
        [['--type', 'webhook', '--url', 'ftp://h/x'], /http:\/\/ or https:\/\//],
        [['--type', 'webhook', '--url', 'https://user:pw@h/x'], /cannot hold a user or password/],
        [['--type', 'nats', '--url', 'http://h:4222'], /nats:\/\//],
        [['--type', 'nats', '--url', 'nats://h:4222', '--stream', 'a.b'], /--stream must be/],
        [['--type', 'webhook', '--url', 'not a url'], /not a URL/],
      ] as const;
      for (const [args, message] of bad) {
        const r = await cli('sinks', 'add', '--corp', corp, ...args);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toMatch(message);
      }
      expect((await cli('sinks', 'add', '--corp', 'ww-nobody', '--type', 'nats', '--url', 'nats://127.0.0.1:4222')).code).toBe(3);

      const added = await cli('sinks', 'add', '--corp', corp, '--type', 'webhook', '--url', 'https://example.test/hook');
      expect(added.code, added.stderr).toBe(0);
      const secret = /webhook secret .*: ([0-9a-f]{64})$/m.exec(added.stdout)?.[1];
      expect(secret).toBeDefined();
      writeFileSync(join(dir, 'secret'), 'a-receiver-chosen-secret\n');
      const own = await cli('sinks', 'add', '--corp', corp, '--type', 'webhook', '--url', 'https://example.test/other', '--secret-file', join(dir, 'secret'), '--include-content');
      expect(own.stdout).not.toMatch(/secret/);
      const nats = await cli('sinks', 'add', '--corp', corp, '--type', 'nats', '--url', 'nats://127.0.0.1:4222');
      expect(nats.code, nats.stderr).toBe(0);

      const listed = await cli('sinks', 'list', '--json');
      expect(listed.stdout).not.toContain(secret!);
      expect(listed.stdout).not.toContain('a-receiver-chosen-secret');
      const list = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
      expect(list.map((s) => [s.id, s.type, s.stream, s.includeContent, s.backlog, s.deadLetters])).toEqual([
        [1, 'webhook', null, false, 0, 0],
        [2, 'webhook', null, true, 0, 0],
        [3, 'nats', 'WECOM_ARCHIVE', false, 0, 0],
      ]);
      const sealed = await store.db.selectFrom('sinks').select('secret_sealed').where('id', '=', 1).executeTakeFirstOrThrow();
      expect(sealed.secret_sealed).not.toContain(secret!);
      expect(appOn(store).sinks.secretOf({ id: 1, secret_sealed: sealed.secret_sealed })!.toString()).toBe(secret);

      expect((await cli('sinks', 'replay', '--id', '1')).stdout).toMatch(/no dead letters/);
      expect((await cli('sinks', 'remove', '--id', '2')).code).toBe(0);
      expect((await cli('sinks', 'remove', '--id', '2')).code).toBe(3);
      expect((await cli('sinks', 'remove', '--id', 'x')).code).toBe(2);
      expect(JSON.parse((await cli('sinks', 'list', '--json')).stdout).map((s: { id: number }) => s.id)).toEqual([1, 3]);
    } finally {
      await store.close();
    }
  });
});
