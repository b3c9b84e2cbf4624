import { createLogger } from '../../app/logger.ts';
import { reindexSearch } from '../../app/search-reindex.ts';
import { requireArchivedCorp } from '../../corps/archived-corp.ts';
import { type Command, needApp, optionalString } from '../command.ts';

/** A progress line: a bar of 20 cells, the count and the share. */
function progressLine(done: number, total: number): string {
  const share = total === 0 ? 1 : done / total;
  const filled = Math.round(share * 20);
  return `[${'#'.repeat(filled)}${'.'.repeat(20 - filled)}] ${done}/${total} messages (${Math.floor(share * 100)}%)`;
}

export const reindex: Command = {
  name: 'reindex',
  usage: 'reindex [--corp ID]',
  summary: 'rebuild the search index of one corp (or all); the archive keeps running, search keeps working, and an interrupted rebuild resumes',
  options: { corp: { type: 'string' } },
  async run({ app, config, values, io }) {
    const corpid = optionalString(values, 'corp');
    const archive = needApp(app);
    if (corpid !== undefined) await requireArchivedCorp(archive.store.db, corpid);
    let shown = -1;
    const total = await reindexSearch(archive, createLogger(config.logLevel), corpid, io.signal, (done, all) => {
      const percent = all === 0 ? 100 : Math.floor((done / all) * 100);
      if (percent === shown) return;
      shown = percent;
      io.err(progressLine(done, all));
    });
    io.out(io.signal.aborted ? `reindex interrupted; run it again (or \`run\`) to finish` : `reindexed ${total} messages${corpid ? ` of ${corpid}` : ''}`);
  },
};
