import { resolve } from 'node:path';
import { type Diagnosis, diagnoseCorp, diagnoseLibrary } from '../../doctor/corp-diagnosis.ts';
import type { Verdict } from '../../doctor/library-checks.ts';
import { type Command, needApp, optionalString } from '../command.ts';

const LABEL: Readonly<Record<Verdict, string>> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

function describe(d: Diagnosis): string[] {
  const lines = [d.corpid ? `corp ${d.corpid} (sdk ${d.sdk})` : `library ${d.sdk.replace(/^native:/, '')}`];
  for (const c of d.checks) {
    lines.push(`  ${LABEL[c.verdict]}  ${c.title}: ${c.finding}`);
    if (c.action && c.verdict !== 'ok') lines.push(`        → ${c.action}`);
  }
  return lines;
}

export const doctor: Command = {
  name: 'doctor',
  usage: 'doctor [--corp ID] [--lib PATH] [--json]',
  summary: 'check the SDK setup of each corp: library, CPU/glibc, Init, a GetChatData probe, proxy, key versions, hours left',
  options: { corp: { type: 'string' }, lib: { type: 'string' }, json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const a = needApp(app);
    const deps = { db: a.store.db, corps: a.corps, env: { ...io.env } };
    const corp = optionalString(values, 'corp');
    const lib = optionalString(values, 'lib') ?? io.env.WECOM_SDK_LIB;
    const diagnoses: Diagnosis[] = [];
    for (const corpid of corp ? [corp] : await a.corps.ids()) diagnoses.push(await diagnoseCorp(deps, corpid));
    if (lib && (!corp || optionalString(values, 'lib'))) diagnoses.push(await diagnoseLibrary(resolve(io.cwd, lib), deps.env));
    const all = diagnoses.flatMap((d) => d.checks);
    const failures = all.filter((c) => c.verdict === 'fail').length;
    const warnings = all.filter((c) => c.verdict === 'warn').length;
    if (values.json) {
      io.out(JSON.stringify({ failures, warnings, diagnoses }));
      return failures ? 1 : 0;
    }
    if (diagnoses.length === 0) {
      io.out(
        'nothing to check: no corps are configured and no library was given (`doctor --lib PATH` or WECOM_SDK_LIB checks a libWeWorkFinanceSdk_C.so; `corp add` registers a corp)',
      );
      return 0;
    }
    for (const d of diagnoses) for (const line of describe(d)) io.out(line);
    io.out(failures || warnings ? `doctor: ${failures} problem(s), ${warnings} warning(s)` : 'doctor: every check passed');
    return failures ? 1 : 0;
  },
};
