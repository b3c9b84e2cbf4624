import { RETRYABLE_REASONS, requeueWaiting } from '../../decrypt/decrypt-retry.ts';
import { isWaitReason, RETRY_KINDS } from '../../decrypt/wait-reasons.ts';
import { NotFoundError, ValidationError } from '../../errors/errors.ts';
import { type Command, needApp, optionalString } from '../command.ts';

export const decryptRetry: Command = {
  name: 'decrypt retry',
  usage: `decrypt retry [--corp ID] [--reason ${RETRYABLE_REASONS.join('|')}]`,
  summary: 'queue waiting envelopes for another try at once (their backoff starts again); `run` decrypts them',
  options: { corp: { type: 'string' }, reason: { type: 'string' } },
  async run({ app, values, io }) {
    const reason = optionalString(values, 'reason');
    if (reason !== undefined && !isWaitReason(reason)) {
      throw new ValidationError('REASON_INVALID', `--reason must be one of ${RETRYABLE_REASONS.join(', ')}, got ${JSON.stringify(reason)}`);
    }
    if (reason !== undefined && RETRY_KINDS[reason] === 'never') {
      throw new ValidationError(
        'REASON_INVALID',
        `--reason ${reason}: a malformed chat data entry is kept as WeCom sent it, and no try can make a message of it; one of ${RETRYABLE_REASONS.join(', ')}`,
      );
    }
    const corpid = optionalString(values, 'corp');
    const a = needApp(app);
    if (corpid !== undefined) {
      // a removed corp keeps its cursor and envelopes, so it can still be retried
      const known = await a.store.db.selectFrom('cursors').select('corpid').where('corpid', '=', corpid).executeTakeFirst();
      if (!known) throw new NotFoundError('CORP_NOT_FOUND', `corp ${JSON.stringify(corpid)} has never been archived here; \`wecom-archive corp list\` shows the configured ones`);
    }
    const queued = await requeueWaiting(a.store.db, { corpid, reason }, Date.now());
    const what = reason ? ` (${reason})` : '';
    if (queued.length === 0) io.out(`no waiting envelopes${what}${corpid ? ` of ${corpid}` : ''} to queue again`);
    for (const q of queued) io.out(`${q.corpid}: ${q.count} waiting envelope${q.count === 1 ? '' : 's'}${what} queued again; \`wecom-archive run\` decrypts them`);
  },
};
