import { corpStatuses, type CorpStatus } from '../../status/corp-status.ts';
import { type Command, needApp } from '../command.ts';

function ago(ms: number | null, now: number): string {
  if (ms === null) return 'never';
  const s = Math.round((now - ms) / 1000);
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${(s / 3600).toFixed(1)}h ago`;
}

function describe(s: CorpStatus, now: number): string[] {
  const lines = [`${s.corpid}${s.configured ? '' : ' (removed from config; data kept)'}: ${s.state}${s.lastErrorCode !== null ? ` (code ${s.lastErrorCode})` : ''}`];
  if (s.lastError) lines.push(`  last error: ${s.lastError}`);
  lines.push(`  cursor seq ${s.cursorSeq}; ${s.messages} messages stored${s.unknownTypes ? ` (${s.unknownTypes} of unknown types)` : ''}; ${s.pending} envelopes pending`);
  for (const w of s.waiting) lines.push(`  waiting: ${w.count} × ${w.label}`);
  if (s.gaps.count) {
    lines.push(`  GAPS: ${s.gaps.count} — WeCom skipped data that fell out of its 5-day window`);
    for (const g of s.gaps.latest) lines.push(`    after seq ${g.afterSeq} came ${g.nextSeq} (${new Date(g.detectedAt).toISOString()})`);
  }
  lines.push(`  last successful pull ${ago(s.lastSuccessAt, now)}; newest message ${s.lagMs === null ? 'none yet' : `${Math.round(s.lagMs / 1000)}s behind now`}`);
  lines.push(s.hoursLeft === null
    ? '  not caught up yet: data older than 5 days may be lost if the pull does not catch up'
    : `  ${s.hoursLeft}h left before unpulled data would fall out of the 5-day window${s.hoursLeft < 24 ? '  ← WARNING' : ''}`);
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
