import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSimulatorConfig } from './corp-import-file-writer.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wecom-sim-corp-file-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('writeSimulatorConfig', () => {
  it('replaces an existing file with a 0600 one, listing only known private keys', async () => {
    const file = join(dir, 'existing.json');
    await writeFile(file, 'old', { mode: 0o644 });
    await writeSimulatorConfig(file, {
      url: 'http://127.0.0.1:1',
      corp: { corpid: 'ww1', secret: 's3cret' },
      privateKeyPems: new Map([
        [2, 'PEM2'],
        [1, 'PEM1'],
      ]),
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      format: 'wecom-archive-simulator/1',
      corps: [
        {
          corpid: 'ww1',
          secret: 's3cret',
          sdk: 'simulator:http://127.0.0.1:1',
          keys: [
            { version: 1, privateKeyPem: 'PEM1' },
            { version: 2, privateKeyPem: 'PEM2' },
          ],
        },
      ],
    });
  });

  it("hands on the directory's secrets and each callback app's settings when the simulator serves the API", async () => {
    const file = join(dir, 'api.json');
    const api = {
      secrets: { contacts: 'C'.repeat(43), customer: 'K'.repeat(43) },
      callbackApps: { contacts: { app: 'contacts', token: 'tok1', encodingAesKey: 'a'.repeat(43) }, archive: { app: 'archive', token: 'tok2', encodingAesKey: 'b'.repeat(43) } },
    };
    await writeSimulatorConfig(file, { url: 'http://127.0.0.1:1', corp: { corpid: 'ww1', secret: 's3cret' }, privateKeyPems: new Map(), api });
    expect(JSON.parse(await readFile(file, 'utf8')).corps[0]).toMatchObject({
      contactsSecret: 'C'.repeat(43),
      customerSecret: 'K'.repeat(43),
      callbacks: [
        { app: 'contacts', token: 'tok1', aesKey: 'a'.repeat(43) },
        { app: 'archive', token: 'tok2', aesKey: 'b'.repeat(43) },
      ],
    });
  });
});
