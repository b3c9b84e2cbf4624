/**
 * Where alerts go: a WeCom group robot (markdown, answered with an errcode) and a generic webhook
 * (JSON, any 2xx). A target that fails throws; the URLs hold the robot's key or a token, so no
 * error names them.
 */
import { alertJson, alertMarkdown, type AlertNotice } from './alert-message.ts';

export interface AlertTarget {
  /** 'robot' or 'webhook': for logs */
  readonly name: string;
  send(notice: AlertNotice, now: number): Promise<void>;
}

/** how long a target may take to answer */
const SEND_TIMEOUT_MS = 10_000;

export class AlertSendError extends Error {}

async function post(name: string, url: string, body: unknown): Promise<Response> {
  try {
    return await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      redirect: 'error',
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new AlertSendError(`${name}: the request failed (${cause})`);
  }
}

/** A WeCom group robot: `POST {"msgtype":"markdown","markdown":{"content":…}}`; errcode 0 is success. */
export function robotTarget(url: string): AlertTarget {
  return {
    name: 'robot',
    async send(notice) {
      const res = await post('robot', url, { msgtype: 'markdown', markdown: { content: alertMarkdown(notice) } });
      const text = await res.text();
      let answer: { errcode?: unknown; errmsg?: unknown } | undefined;
      try {
        answer = JSON.parse(text) as typeof answer;
      } catch {
        answer = undefined;
      }
      if (!res.ok || !answer || answer.errcode !== 0) {
        const what = answer && typeof answer.errcode === 'number' ? `errcode ${answer.errcode} ${String(answer.errmsg ?? '').slice(0, 100)}` : `HTTP ${res.status}`;
        throw new AlertSendError(`robot: ${what}`);
      }
    },
  };
}

/** A generic webhook: the alert as JSON; any 2xx is success. */
export function webhookTarget(url: string): AlertTarget {
  return {
    name: 'webhook',
    async send(notice, now) {
      const res = await post('webhook', url, alertJson(notice, now));
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new AlertSendError(`webhook: HTTP ${res.status}`);
    },
  };
}
