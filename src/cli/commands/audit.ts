import { once } from 'node:events';
import { ArchiveError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString, requireString } from '../command.ts';
import { parseTimeRange } from '../time-option.ts';

export const auditVerify: Command = {
  name: 'audit verify',
  usage: 'audit verify',
  summary: 'check the audit log’s hash chain; exit 1 naming the first broken row',
  options: {},
  async run({ app, io }) {
    const check = await needApp(app).access.audit.verify();
    if (check.ok) {
      io.out(`audit log intact: ${check.rows} row${check.rows === 1 ? '' : 's'}`);
      return 0;
    }
    io.out(`audit log broken at row ${check.brokenId}: ${check.why} (${check.rows} rows before it hold)`);
    return 1;
  },
};

export const auditExport: Command = {
  name: 'audit export',
  usage: 'audit export --since T [--until T]',
  summary: 'write the audit rows of a time range as JSONL to standard output',
  options: { since: { type: 'string' }, until: { type: 'string' } },
  async run({ app, values, io }) {
    requireString(values, 'since', 'where the export starts (a date or date-time)');
    const { since, until } = parseTimeRange(optionalString(values, 'since'), optionalString(values, 'until'));
    let rows = 0;
    for await (const r of needApp(app).access.audit.rowsBetween(since ?? 0, until)) {
      const line = JSON.stringify({
        id: r.id,
        at: new Date(r.at).toISOString(),
        userId: r.user_id,
        username: r.username,
        role: r.role,
        action: r.action,
        corpid: r.corpid,
        conversation: r.conversation,
        query: r.query === null ? null : JSON.parse(r.query),
        items: r.items,
        reason: r.reason,
        ip: r.ip,
        userAgent: r.user_agent,
        requestId: r.request_id,
        prevHash: r.prev_hash,
        hash: r.hash,
      });
      if (!io.stdout.write(`${line}\n`)) await once(io.stdout, 'drain');
      rows++;
      if (io.signal.aborted) throw new ArchiveError('INTERRUPTED', `audit export stopped after ${rows} rows`, { kind: 'failed' });
    }
    io.err(`exported ${rows} audit row${rows === 1 ? '' : 's'}`);
  },
};
