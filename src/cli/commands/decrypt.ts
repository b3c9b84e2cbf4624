import { RETRYABLE_REASONS, requeueWaiting } from '../../decrypt/decrypt-retry.ts';
import { type Command, needApp, optionalString } from '../command.ts';

export const decryptRetry: Command = {
  name: 'decrypt retry',
  usage: `decrypt retry [--corp ID] [--reason ${RETRYABLE_REASONS.join('|')}]`,
  summary: 'queue waiting envelopes for another try at once (their backoff starts again); `run` decrypts them',
  options: { corp: { type: 'string' }, reason: { type: 'string' } },
  async run({ app, values, io }) {
    const reason = optionalString(values, 'reason');
    const corpid = optionalString(values, 'corp');
    const queued = await requeueWaiting(needApp(app).store.db, { corpid, reason }, Date.now());
    const what = reason ? ` (${reason})` : '';
    if (queued.length === 0) io.out(`no waiting envelopes${what}${corpid ? ` of ${corpid}` : ''} to queue again`);
    for (const q of queued) io.out(`${q.corpid}: ${q.count} waiting envelope${q.count === 1 ? '' : 's'}${what} queued again; \`wecom-archive run\` decrypts them`);
  },
};
