import { createLogger } from '../../app/logger.ts';
import { directoryStatuses } from '../../directory/directory-status.ts';
import { syncDirectoriesNow } from '../../app/directory-sync-now.ts';
import { type Command, needApp, optionalString } from '../command.ts';

export const directorySync: Command = {
  name: 'directory sync',
  usage: 'directory sync [--corp ID] [--json]',
  summary: 'sync the directory now (members, departments, tags, external contacts, groups, robots, consent, callback IPs) and resolve every id seen in messages',
  options: { corp: { type: 'string' }, json: { type: 'boolean' } },
  async run({ app, config, values, io }) {
    const a = needApp(app);
    const only = optionalString(values, 'corp');
    const corpids = only ? [only] : await a.corps.ids();
    await syncDirectoriesNow(a, createLogger(config.logLevel), corpids, io.signal, (corpid, ms) => {
      if (!values.json) io.err(`${corpid}: directory synced in ${ms} ms`);
    });
    const statuses = await directoryStatuses(a.store.db);
    if (values.json) {
      io.out(JSON.stringify(Object.fromEntries(corpids.map((c) => [c, statuses.get(c) ?? null]))));
      return;
    }
    let failed = 0;
    for (const corpid of corpids) {
      const d = statuses.get(corpid);
      if (!d) continue;
      io.out(
        `${corpid}: ${d.members} members, ${d.departments} departments, ${d.externalContacts} external contacts, ${d.groups} groups (${d.undescribableGroups} WeCom cannot describe), ${d.robots} robots; ${d.unresolved.pending} ids pending, ${d.unresolved.gaveUp} unresolvable`,
      );
      for (const p of d.parts)
        if (p.lastError) {
          failed += 1;
          io.out(`  ${p.part}: ${p.lastError}`);
        }
    }
    return failed ? 1 : 0;
  },
};
