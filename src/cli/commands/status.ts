import { formatAge } from '../../pull/gap-kind.ts';
import { corpStatuses, type CorpStatus, type WaitingGroup } from '../../status/corp-status.ts';
import { type Command, needApp } from '../command.ts';

function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.round((now - ms) / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${(s / 3600).toFixed(1)}h ago`;
}

function span(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${(s / 3600).toFixed(1)}h`;
}

/**
 * One line about envelopes that wait for one reason: how many, how long they have waited, and how
 * they get another try. `status` and `run --once` print it.
 */
export function describeWaiting(corpid: string, w: WaitingGroup, now: number): string {
  const buckets = [
    [w.age.underHour, 'under 1 h'],
    [w.age.hourToDay, '1–24 h'],
    [w.age.overDay, 'over 24 h'],
  ] as const;
  const ages = buckets
    .filter(([n]) => n > 0)
    .map(([n, label]) => `${n} ${label}`)
    .join(', ');
  let retry: string;
  switch (w.retry) {
    case 'automatic':
      retry = `retried by itself, next try ${w.nextAttemptAt === null || w.nextAttemptAt <= now ? 'now' : `in ${span(w.nextAttemptAt - now)}`} (at once: \`wecom-archive decrypt retry --corp ${corpid}\`)`;
      break;
    case 'key':
      retry = `decrypted once the key is added: \`wecom-archive keys add --corp ${corpid} --version ${w.code} --file KEY.pem\``;
      break;
    case 'operator':
      retry = `tried again after a fix by \`wecom-archive decrypt retry --corp ${corpid} --reason ${w.reason}\``;
      break;
    default:
      retry = 'kept as received; no try can make a message of it';
  }
  return `${w.count} × ${w.label}; oldest stored ${span(now - w.oldestReceivedAt)} ago (${ages}); ${retry}`;
}

function describe(s: CorpStatus, now: number): string[] {
  const lines = [`${s.corpid}${s.configured ? '' : ' (removed from config; data kept)'}: ${s.state}${s.lastErrorCode !== null ? ` (code ${s.lastErrorCode})` : ''}`];
  if (s.lastError) lines.push(`  last error: ${s.lastError}`);
  lines.push(`  cursor seq ${s.cursorSeq}; ${s.messages} messages stored${s.unknownTypes ? ` (${s.unknownTypes} of unknown types)` : ''}; ${s.pending} envelopes pending`);
  for (const w of s.waiting) lines.push(`  waiting: ${describeWaiting(s.corpid, w, now)}`);
  if (s.gaps.count) {
    lines.push(`  GAPS: ${s.gaps.count} — WeCom skipped data that fell out of its 5-day window`);
    for (const g of s.gaps.latest)
      lines.push(
        `    after seq ${g.afterSeq} came ${g.nextSeq} (${new Date(g.detectedAt).toISOString()}; the cursor was ${g.cursorAgeMs === null ? 'of unknown age' : `${formatAge(g.cursorAgeMs)} old`})`,
      );
  }
  if (s.seqJumps.count) {
    // not an alarm: WeCom does not promise contiguous seqs, and the cursor was well inside the window
    const j = s.seqJumps.latest[0];
    lines.push(
      `  seq jumps: ${s.seqJumps.count} while the cursor was inside the 5-day window (nothing lost)${j ? `; latest after seq ${j.afterSeq} came ${j.nextSeq} (${new Date(j.detectedAt).toISOString()})` : ''}`,
    );
  }
  const r = s.sdkHostRestarts;
  if (r.count && r.latest)
    lines.push(
      `  SDK host restarts: ${r.count}; last ${ago(r.latest.at, now)}: ${r.latest.cause}${r.latest.signal ? ` (${r.latest.signal})` : ''} of the ${r.latest.lane} host${r.latest.operation ? ` during ${r.latest.operation}` : ''}`,
    );
  const m = s.media;
  const states = Object.entries(m.states)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`);
  if (states.length) {
    const mb = (m.bytes / 1048576).toFixed(1);
    const voice =
      m.voices.converted + m.voices.notConverted
        ? `; voice: ${m.voices.converted} playable copies${m.voices.notConverted ? `, ${m.voices.notConverted} not convertible` : ''}`
        : '';
    lines.push(`  media: ${states.join(', ')} (${mb} MB stored)${voice}`);
    for (const f of m.latestFailures)
      lines.push(`    ${f.state} ${f.kind} of message ${f.msgid}${f.errorCode !== null ? ` (code ${f.errorCode})` : ''}: ${(f.error ?? '').slice(0, 200)}`);
    if (m.states.failed + m.states.expired) lines.push('    `wecom-archive media retry [--corp ID] [--state failed|expired]` tries them again');
  }
  const cb = s.callbacks;
  if (cb.lastReceivedAt !== null) {
    lines.push(
      `  callbacks: last received ${ago(cb.lastReceivedAt, now)}; ${cb.done} handled, ${cb.pending} pending, ${cb.ignored} ignored (unknown events)${cb.failed ? `, ${cb.failed} FAILED` : ''}`,
    );
    for (const f of cb.latestFailures)
      lines.push(`    #${f.id} ${f.event ?? '?'}${f.changeType ? `/${f.changeType}` : ''} via ${f.app}, ${f.attempts} tries: ${(f.error ?? '').slice(0, 200)}`);
    if (cb.failed) lines.push(`    \`wecom-archive callback replay --corp ${s.corpid}\` hands them to the handlers again`);
  }
  const d = s.directory;
  if (d.parts.length || d.members || d.groups) {
    const groups = `${d.groups} groups${d.undescribableGroups ? ` (${d.undescribableGroups} WeCom cannot describe)` : ''}${d.dismissedGroups ? ` (${d.dismissedGroups} dismissed)` : ''}`;
    lines.push(
      `  directory: ${d.members} members, ${d.departments} departments, ${d.externalContacts} external contacts, ${groups}, ${d.robots} robots${d.unresolved.pending + d.unresolved.gaveUp ? `; ${d.unresolved.pending} ids to resolve, ${d.unresolved.gaveUp} unresolvable` : ''}`,
    );
    for (const p of d.parts.filter((p) => p.part !== 'scan' && p.part !== 'refresh')) {
      lines.push(
        `    ${p.part}: ${p.lastSuccessAt === null ? 'never synced' : `synced ${ago(p.lastSuccessAt, now)} (${p.items ?? 0} items, ${p.durationMs ?? 0} ms)`}${p.lastError ? `; last try failed${p.lastErrorCode !== null ? ` (code ${p.lastErrorCode})` : ''}: ${p.lastError.slice(0, 200)}` : ''}`,
      );
    }
  }
  if (s.notIndexed > 0) lines.push(`  search index: ${s.notIndexed} stored messages not indexed yet (the index stage of \`run\` takes them in)`);
  lines.push(
    `  last successful pull ${ago(s.lastSuccessAt, now)}; newest message ${s.lagMs === null ? 'none yet' : `${Math.round(s.lagMs / 1000)}s behind now`}${s.pullLease ? `; pulled by ${s.pullLease.owner}` : ''}`,
  );
  lines.push(
    s.hoursLeft === null
      ? '  not caught up yet: data older than 5 days may be lost if the pull does not catch up'
      : `  ${s.hoursLeft}h left before unpulled data would fall out of the 5-day window${s.hoursLeft < 24 ? '  ← WARNING' : ''}`,
  );
  return lines;
}

export const status: Command = {
  name: 'status',
  usage: 'status [--json]',
  summary: 'where every corp stands: cursor, messages, waiting envelopes, gaps, lag, hours left',
  options: { json: { type: 'boolean' } },
  async run({ app, values, io }) {
    const now = Date.now();
    const statuses = await corpStatuses(needApp(app).store.db, now);
    if (values.json) {
      io.out(JSON.stringify({ now, corps: statuses }));
      return;
    }
    if (statuses.length === 0) io.out('no corps configured; add one with `wecom-archive corp add`');
    for (const s of statuses) for (const line of describe(s, now)) io.out(line);
  },
};
