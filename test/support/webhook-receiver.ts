import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../../src/outbox/webhook-signature.ts';

/** One delivery a receiver took (answered 200). */
export interface Received {
  body: Record<string, any>;
  verified: boolean;
}

/** A running receiver: where it listens, what it took, how often each seq was tried, the secret it checks with. */
export interface WebhookReceiver {
  url: string;
  received: Received[];
  tries: Map<number, number>;
  setSecret(secret: string): void;
}

/**
 * Registers an afterEach hook that closes every receiver the returned function started during the
 * test, and returns that function: a webhook receiver that checks every signature with its secret;
 * `answer` picks each delivery's status. Call once per test file, at its top level.
 */
export function useWebhookReceivers(): (answer?: (body: Record<string, any>) => number) => Promise<WebhookReceiver> {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });
  return async (answer = () => 200) => {
    const received: Received[] = [];
    const tries = new Map<number, number>();
    let secret = Buffer.alloc(0);
    const server = createServer((req: IncomingMessage, res) => {
      let text = '';
      req.on('data', (d: Buffer) => (text += d.toString()));
      req.on('end', () => {
        const body = JSON.parse(text) as Record<string, any>;
        tries.set(body.seq, (tries.get(body.seq) ?? 0) + 1);
        const verified = verifyWebhook(secret, req.headers[TIMESTAMP_HEADER] as string, req.headers[SIGNATURE_HEADER] as string, text, Math.floor(Date.now() / 1000));
        const status = answer(body);
        if (status === 200) received.push({ body, verified });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, tries, setSecret: (s: string) => (secret = Buffer.from(s)) };
  };
}
