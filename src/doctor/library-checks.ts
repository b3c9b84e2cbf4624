/**
 * `doctor`'s checks of the native SDK: the file, its CPU and glibc needs (read from its headers,
 * without loading it), then loading it, Init and a one-message GetChatData probe, all in an SDK host
 * child process like the archive does. Each check ends in a plain verdict and what to do.
 */
import { statSync } from 'node:fs';
import { ArchiveError } from '../errors/errors.ts';
import { API_CODES, SDK_CODES, WeComApiError, WeComSdkError } from '../errors/wecom-codes.ts';
import { parseChatDataPage } from '../pull/chat-data-page.ts';
import type { SdkBackend } from '../sdk/backend.ts';
import { SDK_FUNCTIONS, SdkLoadError } from '../sdk/native/finance-sdk-binding.ts';
import { HostDiedError, SdkHost } from '../sdk/native/sdk-host.ts';
import { readElfInfo, runtimeGlibcVersion, versionAtLeast } from './elf-info.ts';

export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  /** stable id: 'library-file', 'cpu', 'glibc', 'load', 'init', 'probe', 'proxy', 'keys', 'window' */
  id: string;
  title: string;
  verdict: Verdict;
  /** what was found */
  finding: string;
  /** what to do about it (null when nothing) */
  action: string | null;
}

export function check(id: string, title: string, verdict: Verdict, finding: string, action: string | null = null): Check {
  return { id, title, verdict, finding, action };
}

const ARCHIVE_SECRET =
  'use the 会话内容存档 (chat archive) Secret shown in the admin console under 管理工具 → 会话内容存档, not the Secret of an app, of 通讯录 (contacts) or of 客户联系; then `wecom-archive corp add --corpid ID --secret S --sdk … --replace`';
const TRUSTED_IP =
  "in the admin console open 管理工具 → 会话内容存档 and add this server's public (egress) IP to 可信IP地址 (trusted IPs); behind NAT or a proxy that is the address WeCom sees, not the machine's own. It takes effect within a few minutes";

/** What an SDK code means for a person, and what to do. 10009 and the secret codes get the full story. */
export function explainSdkCode(code: number, operation: string): { finding: string; action: string } {
  if (code === 10009)
    return {
      finding: `${operation} returned SDK code 10009: WeCom refused the request because it comes from an IP address that is not in the chat archive's trusted IPs`,
      action: TRUSTED_IP,
    };
  if (code === 10004)
    return {
      finding: `${operation} returned SDK code 10004: the secret is wrong for this corp (WeCom could not use it to encrypt the request)`,
      action: `check the corpid, and ${ARCHIVE_SECRET}`,
    };
  if (code === 10001)
    return {
      finding: `${operation} returned SDK code 10001: network error, qyapi.weixin.qq.com could not be reached`,
      action: 'check that this server (or its proxy) can open HTTPS connections to qyapi.weixin.qq.com, and the proxy settings of the corp',
    };
  const info = SDK_CODES[code];
  return info
    ? { finding: `${operation} returned SDK code ${code}: ${info.meaning}`, action: info.action }
    : { finding: `${operation} returned SDK code ${code}, which the SDK does not document`, action: 'see the WeCom documentation; update the SDK if it is old' };
}

/** The same for a JSON-level errcode inside a successful GetChatData. */
export function explainApiCode(code: number, errmsg: string): { finding: string; action: string } {
  const said = errmsg ? ` (WeCom said: ${errmsg.slice(0, 120)})` : '';
  if (code === 40001 || code === 40013)
    return {
      finding: `WeCom answered errcode ${code}: ${code === 40001 ? 'the secret is invalid' : 'the corpid is invalid'}${said}`,
      action: code === 40001 ? ARCHIVE_SECRET : 'check the corpid (企业ID, under 我的企业 → 企业信息)',
    };
  if (code === 301042 || code === 60020) return { finding: `WeCom answered errcode ${code}: this server's IP is not trusted${said}`, action: TRUSTED_IP };
  const info = API_CODES[code];
  return info
    ? { finding: `WeCom answered errcode ${code}: ${info.meaning}${said}`, action: info.action }
    : { finding: `WeCom answered errcode ${code}${said}`, action: 'see the WeCom global error code list' };
}

/** The file, its CPU and its glibc needs; `usable` is false when loading it cannot work. */
export function checkLibraryFile(path: string): { checks: Check[]; usable: boolean } {
  const checks: Check[] = [];
  const get =
    'download the Linux SDK (x86-64: sdk_x86_v3_20250205.tgz; ARM64: sdk_arm_v3_20250205.tgz, see the README), unpack it and point `--sdk native:PATH` to libWeWorkFinanceSdk_C.so';
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    size = st.size;
  } catch (err) {
    checks.push(
      check(
        'library-file',
        'SDK library file',
        'fail',
        `${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : ((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`,
        get,
      ),
    );
    return { checks, usable: false };
  }
  let elf;
  try {
    elf = readElfInfo(path);
  } catch (err) {
    checks.push(check('library-file', 'SDK library file', 'fail', (err as Error).message, get));
    return { checks, usable: false };
  }
  const needs = elf.needed.length ? `; loads ${elf.needed.join(', ')}` : '';
  const shown = size >= 1048576 ? `${(size / 1048576).toFixed(1)} MB` : `${Math.ceil(size / 1024)} KB`;
  checks.push(check('library-file', 'SDK library file', 'ok', `${path}: ELF ${elf.bits}-bit ${elf.machineName} shared library, ${shown}${needs}`));

  let usable = true;
  const here = process.arch === 'x64' ? 'x86-64' : process.arch === 'arm64' ? 'AArch64 (ARM64)' : process.arch;
  if (elf.nodeArch === process.arch) {
    checks.push(check('cpu', 'CPU architecture', 'ok', `the library is built for ${elf.machineName}, like this machine (${here})`));
  } else {
    usable = false;
    checks.push(
      check(
        'cpu',
        'CPU architecture',
        'fail',
        `the library is built for ${elf.machineName}, but this machine is ${here}`,
        process.arch === 'arm64'
          ? 'use the ARM build of the SDK (sdk_arm_v3_…, libWeWorkFinanceSdk_C.so for aarch64); under Docker on Apple Silicon, or run the container with --platform linux/amd64 and the x86 build'
          : 'use the x86-64 build of the SDK (sdk_x86_v3_…); the ARM build only runs on ARM64 machines',
      ),
    );
  }

  const glibc = runtimeGlibcVersion();
  const glibcProblem = glibcMismatch(glibc, elf.glibcNeeded);
  if (glibcProblem) {
    usable = false;
    checks.push(check('glibc', 'C library (glibc)', 'fail', glibcProblem.detail, glibcProblem.fix));
  } else {
    checks.push(check('glibc', 'C library (glibc)', 'ok', `glibc ${glibc} here${elf.glibcNeeded ? `; the library needs GLIBC_${elf.glibcNeeded} or newer` : ''}`));
  }
  return { checks, usable };
}

/** Why this system's C library cannot run the SDK (`glibc`: its version, null without glibc), or undefined when it can. */
function glibcMismatch(glibc: string | null, needed: string | null): { detail: string; fix: string } | undefined {
  if (glibc === null) {
    return {
      detail: 'this system does not run on glibc (Alpine and other musl-based systems); the SDK is built for glibc only',
      fix: 'run the archiver on a glibc distribution (Debian, Ubuntu, RHEL, their container images); Alpine does not work, even with a glibc compatibility package',
    };
  }
  if (needed && !versionAtLeast(glibc, needed)) {
    return {
      detail: `the library needs GLIBC_${needed}, but this system has glibc ${glibc}`,
      fix: `run on a newer distribution whose glibc is ${needed} or later (e.g. a current Debian or Ubuntu image)`,
    };
  }
  return undefined;
}

/** Why dlopen failed, for a person. */
function loadAdvice(message: string): string {
  if (/GLIBC_|GLIBCXX_|CXXABI_/.test(message)) return "the system's C/C++ libraries are older than the SDK needs: run on a newer glibc distribution";
  if (/wrong ELF class|ELFCLASS/.test(message)) return 'the library is 32-bit or for another CPU: use the SDK build for this machine (x86-64 or ARM64)';
  if (/cannot open shared object file/.test(message)) {
    const lib = /([\w.+-]+\.so[\w.]*): cannot open shared object file/.exec(message)?.[1];
    return lib && !lib.startsWith('libWeWorkFinanceSdk')
      ? `a library the SDK needs is missing: install ${lib} (e.g. the OpenSSL version the SDK build expects: v3 needs OpenSSL 3, v2 needs OpenSSL 1.1)`
      : 'check the path to libWeWorkFinanceSdk_C.so';
  }
  return 'check that the file is the Linux libWeWorkFinanceSdk_C.so from WeCom, for this CPU';
}

export interface ProbeOptions {
  libPath: string;
  /** without credentials only loading is checked */
  credentials?: { corpid: string; secret: string; seq: bigint; proxy: string; passwd: string; timeoutS: number };
  /** the host's environment (the command's) */
  env?: NodeJS.ProcessEnv;
}

export interface ProbeResult {
  checks: Check[];
  /** publickey_ver of the probed message, if one came back */
  probedKeyVersion: number | null;
}

/** Loads the library in a host child process, then Init and one GetChatData(limit 1). */
export async function probeLibrary(opts: ProbeOptions): Promise<ProbeResult> {
  const checks: Check[] = [];
  const creds = opts.credentials;
  let host: SdkHost | undefined;
  try {
    host = await SdkHost.start({
      libPath: opts.libPath,
      corpid: creds?.corpid ?? '',
      secret: creds?.secret ?? '',
      loadOnly: !creds,
      startTimeoutMs: 60_000,
      ...(opts.env ? { env: opts.env } : {}),
    });
  } catch (err) {
    if (err instanceof SdkLoadError) {
      if (err.stage === 'symbols') {
        checks.push(
          check(
            'load',
            'library loads, all 17 SDK functions',
            'fail',
            `it loads, but lacks ${err.missing.join(', ')} (of the ${SDK_FUNCTIONS.length} SDK functions)`,
            'this is not the WeCom chat archive SDK, or a damaged or very old copy: download it again',
          ),
        );
      } else {
        checks.push(check('load', 'library loads, all 17 SDK functions', 'fail', err.message, loadAdvice(err.message)));
      }
      return { checks, probedKeyVersion: null };
    }
    checks.push(check('load', 'library loads, all 17 SDK functions', 'ok', `it loads in a separate process with all ${SDK_FUNCTIONS.length} SDK functions`));
    if (err instanceof WeComSdkError) {
      const { finding, action } = explainSdkCode(err.wecomCode, 'Init');
      checks.push(check('init', 'Init(corpid, secret)', 'fail', finding, action));
    } else if (err instanceof HostDiedError) {
      checks.push(
        check(
          'init',
          'Init(corpid, secret)',
          'fail',
          err.message,
          'the SDK crashed while starting: check that it is the build for this system (x86-64 or ARM64, glibc), and update it',
        ),
      );
    } else {
      checks.push(check('init', 'Init(corpid, secret)', 'fail', (err as Error).message, 'see the message above'));
    }
    return { checks, probedKeyVersion: null };
  }
  try {
    checks.push(check('load', 'library loads, all 17 SDK functions', 'ok', `it loads in a separate process with all ${SDK_FUNCTIONS.length} SDK functions`));
    if (!creds) return { checks, probedKeyVersion: null };
    checks.push(check('init', 'Init(corpid, secret)', 'ok', 'Init returned 0'));
    let text: string;
    try {
      const answer = await host.call(
        { op: 'chatdata', seq: creds.seq, limit: 1, proxy: creds.proxy, passwd: creds.passwd, timeoutS: creds.timeoutS },
        creds.timeoutS * 1000 + 10_000,
      );
      text = answer.data.toString('utf8');
    } catch (err) {
      checks.push(probeFailure(err));
      return { checks, probedKeyVersion: null };
    }
    return interpretProbe(text, creds.seq, checks);
  } finally {
    await host.retire();
  }
}

/** The same one-message probe through any backend (the simulator backend, for simulator corps). */
export async function probeBackend(backend: SdkBackend, seq: bigint, proxy: string, passwd: string, timeoutS: number): Promise<ProbeResult> {
  try {
    const text = await backend.getChatData({ seq, limit: 1, proxy, passwd, timeoutS });
    return interpretProbe(text, seq, []);
  } catch (err) {
    return { checks: [probeFailure(err)], probedKeyVersion: null };
  }
}

const PROBE_TITLE = 'GetChatData probe (1 message)';

function probeFailure(err: unknown): Check {
  if (err instanceof WeComSdkError) {
    const { finding, action } = explainSdkCode(err.wecomCode, 'GetChatData');
    return check('probe', PROBE_TITLE, 'fail', finding, action);
  }
  if (err instanceof HostDiedError)
    return check('probe', PROBE_TITLE, 'fail', err.message, 'the SDK crashed on a simple call: update it, and check that it is the build for this system');
  return check('probe', PROBE_TITLE, 'fail', err instanceof ArchiveError ? err.message : String(err), 'see the message above');
}

function interpretProbe(text: string, seq: bigint, checks: Check[]): ProbeResult {
  try {
    const entries = parseChatDataPage(text);
    const first = entries[0];
    const found = first
      ? `1 message after seq ${seq} (seq ${first.seq}, key version ${first.publickeyVer})`
      : `no message after seq ${seq} (nothing new, or nothing within WeCom's 5 days)`;
    checks.push(check('probe', PROBE_TITLE, 'ok', `WeCom answered: ${found}`));
    return { checks, probedKeyVersion: first && !first.problem ? first.publickeyVer : null };
  } catch (err) {
    if (err instanceof WeComApiError) {
      const { finding, action } = explainApiCode(err.wecomCode, /WeCom said: (.*)\)\./.exec(err.message)?.[1] ?? '');
      checks.push(check('probe', PROBE_TITLE, 'fail', finding, action));
    } else {
      checks.push(probeFailure(err));
    }
    return { checks, probedKeyVersion: null };
  }
}
