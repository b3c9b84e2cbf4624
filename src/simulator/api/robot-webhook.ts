/**
 * A WeCom group robot (群机器人) as the simulator serves it: `POST /cgi-bin/webhook/send?key=KEY`
 * takes a text or markdown message for the robot's group and answers as WeCom does, HTTP 200 with
 * an errcode — 0 "ok", or an error for a wrong key, a malformed message, or more than 20 messages
 * in a minute. What it accepted is kept for the tests (`GET /control/robot`).
 */
import { createHash } from 'node:crypto';

export interface RobotMessage {
  msgtype: 'text' | 'markdown';
  content: string;
  /** simulator clock, ms */
  at: number;
}

/** messages a robot takes per minute before it answers 45009 */
const PER_MINUTE = 20;
/** longest content WeCom takes, in UTF-8 bytes: text 2048, markdown 4096 */
const MAX_BYTES = { text: 2048, markdown: 4096 } as const;

const answer = (errcode: number, errmsg: string) => ({ errcode, errmsg });

export class SimRobot {
  /** the webhook's key, a UUID as WeCom's are; derived from the simulator's seed */
  readonly key: string;
  readonly received: RobotMessage[] = [];

  constructor(seedKey: Buffer) {
    const hex = createHash('sha256').update(seedKey).update('\0robot-webhook-key').digest('hex');
    this.key = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }

  /** One POST to the webhook. */
  send(method: string, key: string | null, body: unknown, now: number): Record<string, unknown> {
    if (method !== 'POST') return answer(43004, 'require POST');
    if (key !== this.key) return answer(93000, 'invalid webhook url');
    const b = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    const msgtype = b?.msgtype;
    if (msgtype !== 'text' && msgtype !== 'markdown') return answer(40008, 'invalid message type');
    const part = b?.[msgtype];
    const content = typeof part === 'object' && part !== null ? (part as Record<string, unknown>).content : undefined;
    if (typeof content !== 'string' || content === '') return answer(44004, 'empty content');
    if (Buffer.byteLength(content, 'utf8') > MAX_BYTES[msgtype]) return answer(40058, `content exceed max length ${MAX_BYTES[msgtype]}`);
    if (this.received.filter((m) => m.at > now - 60_000).length >= PER_MINUTE) return answer(45009, 'api freq out of limit');
    this.received.push({ msgtype, content, at: now });
    return answer(0, 'ok');
  }
}
