import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app/app.ts';
import { checkProxy } from '../../src/doctor/corp-diagnosis.ts';
import type { RunningSimulator } from '../../src/simulator/server.ts';
import { openStore } from '../../src/store/open-store.ts';
import { appOn, archiveOnce } from '../support/archive-harness.ts';
import { describeEachDialect } from '../support/databases.ts';
import { buildFinanceDouble } from './build-double.ts';
import { addNativeCorp, doubleEnv, withDoubleEnv } from './native-support.ts';
import { runCli } from '../support/cli-runner.ts';
import { useSimulators } from '../support/simulators.ts';

let lib: string;
let incompleteLib: string;
beforeAll(async () => {
  [lib, incompleteLib] = await Promise.all([buildFinanceDouble(), buildFinanceDouble({ incomplete: true })]);
});

const simulator = useSimulators();

const MASTER_KEY = '03'.repeat(32); // the key appOn seals with
/** doctor's corps: a short SDK timeout, registered again over the one before */
const DOCTOR_CORP = { timeoutS: 5, replace: true };

/** Runs the real CLI in-process; returns its exit code and stdout lines. */
async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await runCli(args, { cwd: tmpdir(), env: { ...env, WECOM_ARCHIVE_MASTER_KEY: MASTER_KEY } });
  return { code, out: stdout.trimEnd() + (stderr ? `\n[stderr] ${stderr.trimEnd()}` : '') };
}

/** Archives once with the corp's native SDK hosts running the double against `sim`. */
async function archiveWithDouble(app: App, sim: RunningSimulator): Promise<void> {
  await withDoubleEnv(sim, {}, () => archiveOnce(app));
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeEachDialect('doctor', ({ url }) => {
  it('passes every check of a healthy native corp, and explains 10009 as the trusted-IP setting', async () => {
    const sim = await simulator({ messages: 120, seed: 'doctor-ok' });
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      const app = appOn(store);
      await addNativeCorp(app, sim, lib, DOCTOR_CORP);
      await archiveWithDouble(app, sim);
      const healthy = await cli(['doctor', '--corp', sim.corp.corpid, '--db', dbUrl], doubleEnv(sim));
      expect(healthy.out).toContain(`corp ${sim.corp.corpid} (sdk native:${lib})`);
      expect(healthy.out).toMatch(/ok {4}SDK library file: .*ELF 64-bit .* shared library/);
      expect(healthy.out).toMatch(/ok {4}CPU architecture: the library is built for .*, like this machine/);
      expect(healthy.out).toMatch(/ok {4}C library \(glibc\): glibc [\d.]+ here; the library needs GLIBC_2\.\d+ or newer/);
      expect(healthy.out).toContain('ok    library loads, all 17 SDK functions: it loads in a separate process with all 17 SDK functions');
      expect(healthy.out).toContain('ok    Init(corpid, secret): Init returned 0');
      expect(healthy.out).toContain(`ok    GetChatData probe (1 message): WeCom answered: no message after seq ${sim.seqOf(119)}`);
      expect(healthy.out).toContain('skip  proxy reachable: no proxy configured');
      expect(healthy.out).toContain('ok    private keys for the key versions in use: recent messages need key version(s) 1; all are stored');
      expect(healthy.out).toMatch(/ok {4}hours left in WeCom's 5-day window: 1[12]\d(\.\d)? h left/);
      expect(healthy.out).toContain('doctor: every check passed');
      expect(healthy.code).toBe(0);

      const blocked = await cli(['doctor', '--corp', sim.corp.corpid, '--db', dbUrl], doubleEnv(sim, { WECOM_DOUBLE_OPS: 'chatdata', WECOM_DOUBLE_RET: '10009' }));
      expect(blocked.code).toBe(1);
      expect(blocked.out).toMatch(
        /FAIL {2}GetChatData probe \(1 message\): GetChatData returned SDK code 10009: WeCom refused the request because it comes from an IP address that is not in the chat archive's trusted IPs\n {8}→ in the admin console open 管理工具 → 会话内容存档 and add this server's public \(egress\) IP to 可信IP地址/,
      );
      expect(blocked.out).toContain('doctor: 1 problem(s), 0 warning(s)');
    } finally {
      await store.close();
    }
  });

  it('explains a wrong secret, a missing key version and an unreachable proxy', async () => {
    const sim = await simulator({ messages: 100, seed: 'doctor-bad', keySchedule: '1:0,2:60' });
    const dbUrl = await url();
    const store = await openStore(dbUrl);
    try {
      const app = appOn(store);
      await addNativeCorp(app, sim, lib, { ...DOCTOR_CORP, keyVersions: [1] });
      await archiveWithDouble(app, sim); // 40 messages wait for key version 2
      const port = await closedPort();
      await addNativeCorp(app, sim, lib, { ...DOCTOR_CORP, secret: 'an-app-secret-not-the-archive-one', proxy: `http://127.0.0.1:${port}`, keyVersions: [] });
      const { code, out } = await cli(['doctor', '--corp', sim.corp.corpid, '--db', dbUrl, '--json'], doubleEnv(sim));
      expect(code).toBe(1);
      const report = JSON.parse(out) as { failures: number; diagnoses: Array<{ checks: Array<{ id: string; verdict: string; finding: string; action: string | null }> }> };
      const checks = Object.fromEntries(report.diagnoses[0]!.checks.map((c) => [c.id, c]));
      expect(checks.init).toMatchObject({ verdict: 'ok' });
      expect(checks.probe).toMatchObject({ verdict: 'fail', finding: expect.stringMatching(/SDK code 10004: the secret is wrong/) });
      expect(checks.probe!.action).toMatch(/会话内容存档 \(chat archive\) Secret .* not the Secret of an app/);
      expect(checks.keys).toMatchObject({ verdict: 'fail', finding: 'recent messages need key version(s) 1, 2; stored: 1; missing: 2' });
      expect(checks.keys!.action).toContain(`wecom-archive keys add --corp ${sim.corp.corpid} --version 2 --file KEY.pem`);
      expect(checks.proxy).toMatchObject({ verdict: 'fail', finding: `cannot connect to the proxy http://127.0.0.1:${port}: ECONNREFUSED` });
      expect(report.failures).toBe(3);
    } finally {
      await store.close();
    }
  });
});

describe('doctor on a library alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wa-doctor-'));
  const db = ['--db', `sqlite:${join(dir, 'archive.db')}`];

  it('checks a good library without a corp, from --lib or WECOM_SDK_LIB', async () => {
    const viaFlag = await cli(['doctor', '--lib', lib, ...db], process.env);
    expect(viaFlag.out).toContain(`library ${lib}`);
    expect(viaFlag.out).toContain('ok    library loads, all 17 SDK functions');
    expect(viaFlag.out).toContain('skip  Init(corpid, secret): no corp given');
    expect(viaFlag.code).toBe(0);
    expect((await cli(['doctor', ...db], { ...process.env, WECOM_SDK_LIB: lib })).out).toContain('ok    library loads, all 17 SDK functions');
    expect((await cli(['doctor', ...db], {})).out).toMatch(/^nothing to check/);
  });

  it('names the missing functions of an incomplete library', async () => {
    const { code, out } = await cli(['doctor', '--lib', incompleteLib, ...db], process.env);
    expect(code).toBe(1);
    expect(out).toContain('FAIL  library loads, all 17 SDK functions: it loads, but lacks GetIndexLen, IsMediaDataFinish (of the 17 SDK functions)');
  });

  it('says when the library is built for the other CPU, or is not a library at all', async () => {
    const other = join(dir, 'libWeWorkFinanceSdk_C_other.so');
    copyFileSync(lib, other);
    const bytes = readFileSync(other);
    const x64 = process.arch === 'x64';
    bytes.writeUInt16LE(x64 ? 183 : 62, 18); // e_machine: AArch64 on x86-64 machines, x86-64 elsewhere
    writeFileSync(other, bytes);
    const arm = await cli(['doctor', '--lib', other, ...db], process.env);
    expect(arm.code).toBe(1);
    expect(arm.out).toContain(`FAIL  CPU architecture: the library is built for ${x64 ? 'AArch64 (ARM64), but this machine is x86-64' : 'x86-64, but this machine is'}`);
    expect(arm.out).toMatch(x64 ? /→ use the x86-64 build of the SDK/ : /→ use the ARM build of the SDK/);

    const tgz = join(dir, 'sdk_x86_v3_20250205.tgz');
    writeFileSync(tgz, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100)]));
    const archive = await cli(['doctor', '--lib', tgz, ...db], process.env);
    expect(archive.code).toBe(1);
    expect(archive.out).toContain('is not a Linux shared library (no ELF header) (it is a .tgz archive: unpack it and point to the .so inside)');
  });

  it('finds a proxy that accepts connections reachable', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      expect(await checkProxy(`http://127.0.0.1:${port}`)).toMatchObject({ verdict: 'ok', finding: `http://127.0.0.1:${port} accepts connections` });
    } finally {
      server.close();
    }
  });
});
