/**
 * What an alert says: markdown for a WeCom group robot, JSON for a generic webhook. Both carry the
 * rule, the corp and the rule's detail; never a secret or a message's content.
 */
import type { AlertState } from '../../store/vocabulary.ts';
import type { AlertRule } from './alert-rules.ts';

export interface AlertNotice {
  readonly rule: AlertRule;
  readonly corpid: string;
  readonly state: AlertState;
  /** which incident of this rule and corp (1, 2, …) */
  readonly incident: number;
  readonly detail: string;
  readonly openedAt: number;
  readonly resolvedAt: number | null;
}

const TITLES: Record<AlertRule, string> = {
  hours_left: "Little time left in WeCom's 5-day window",
  new_gap: 'Data may have been lost (seq gap)',
  corp_stopped: 'Corp stopped on a configuration error',
  media_failures: 'Media downloads failing',
  envelopes_waiting: 'Envelopes waiting to be decrypted',
  sdk_restarts: 'SDK host restarting',
};

/** A robot's markdown content is at most 4096 bytes; a detail is short, but a corp id is not ours to trust. */
const MAX_MARKDOWN_BYTES = 4000;

/** Markdown has no escape for these inside the robot's subset: they are dropped from values we did not write. */
function plain(text: string): string {
  return text.replace(/[\u0000-\u001f`<>*_[\]]/g, ' ');
}

export function alertMarkdown(n: AlertNotice): string {
  const firing = n.state === 'firing';
  const lines = [
    `**wecom-archive ${firing ? '<font color="warning">ALERT</font>' : '<font color="info">RESOLVED</font>'}: ${TITLES[n.rule]}**`,
    `> corp: ${plain(n.corpid)}`,
    `> rule: ${n.rule} (incident ${n.incident})`,
    `> ${plain(n.detail)}`,
    `> since: ${new Date(n.openedAt).toISOString()}${n.resolvedAt !== null && !firing ? `, resolved ${new Date(n.resolvedAt).toISOString()}` : ''}`,
  ];
  let text = lines.join('\n');
  while (Buffer.byteLength(text, 'utf8') > MAX_MARKDOWN_BYTES) text = text.slice(0, -100);
  return text;
}

export function alertJson(n: AlertNotice, sentAt: number): Record<string, unknown> {
  return {
    source: 'wecom-archive',
    rule: n.rule,
    title: TITLES[n.rule],
    corpid: n.corpid,
    state: n.state,
    incident: n.incident,
    detail: n.detail,
    openedAt: new Date(n.openedAt).toISOString(),
    resolvedAt: n.resolvedAt === null ? null : new Date(n.resolvedAt).toISOString(),
    sentAt: new Date(sentAt).toISOString(),
  };
}
