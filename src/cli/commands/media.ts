import { requireArchivedCorp } from '../../corps/archived-corp.ts';
import { ValidationError } from '../../errors/errors.ts';
import { REQUEUE_STATES, requeueMedia, scanMessagesForMedia } from '../../media/jobs/media-job-repository.ts';
import type { MediaState } from '../../store/schema.ts';
import { type Command, needApp, optionalString } from '../command.ts';
import { auditCliChange } from './access-flags.ts';

export const mediaRetry: Command = {
  name: 'media retry',
  usage: 'media retry [--corp ID] [--state failed|expired|unverified|pending]',
  summary: 'queue media again (default: the failed ones) from the first byte; the next `run` downloads them',
  options: { corp: { type: 'string' }, state: { type: 'string' } },
  async run({ app, values, io }) {
    const state = (optionalString(values, 'state') ?? 'failed') as MediaState;
    if (!REQUEUE_STATES.includes(state)) throw new ValidationError('STATE_INVALID', `--state must be one of ${REQUEUE_STATES.join(', ')}, got ${JSON.stringify(state)}`);
    const corpid = optionalString(values, 'corp');
    const a = needApp(app);
    if (corpid !== undefined) await requireArchivedCorp(a.store.db, corpid);
    const n = await requeueMedia(a.store.db, { corpid, state }, Date.now());
    await auditCliChange(a, io.env, { action: 'media.retry', corpid, query: { state }, items: n });
    io.out(`${n} ${state} media job${n === 1 ? '' : 's'}${corpid ? ` of ${corpid}` : ''} queued again; \`wecom-archive run\` downloads them`);
  },
};

export const mediaScan: Command = {
  name: 'media scan',
  usage: 'media scan --corp ID',
  summary: 'make media jobs for stored messages that have none (messages archived before media support)',
  options: { corp: { type: 'string' } },
  async run({ app, values, io }) {
    const corpid = optionalString(values, 'corp');
    if (!corpid) throw new ValidationError('OPTION_MISSING', '--corp is required: the corp whose messages to scan');
    const a = needApp(app);
    await requireArchivedCorp(a.store.db, corpid);
    const n = await scanMessagesForMedia(a.store.db, a.store.dialect, corpid, Date.now());
    io.out(`${n} media job${n === 1 ? '' : 's'} added for ${corpid}`);
  },
};
