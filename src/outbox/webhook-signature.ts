/**
 * The signature of a webhook delivery: HMAC-SHA256 under the sink's secret over
 * `<timestamp>.<body>`, the timestamp (Unix seconds) sent beside it. Signing the timestamp with the
 * body lets a receiver refuse a delivery replayed later by whoever saw it: it checks the signature,
 * then that the timestamp is recent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-wecom-archive-signature';
export const TIMESTAMP_HEADER = 'x-wecom-archive-timestamp';
export const EVENT_ID_HEADER = 'x-wecom-archive-event-id';

/** `sha256=<hex>` of `<timestamp>.<body>`. */
export function signWebhook(secret: Buffer, timestampS: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does with a delivery: true when `signature` is the body's under `secret` and the
 * timestamp is within `toleranceS` of `nowS`. Compares in constant time.
 */
export function verifyWebhook(secret: Buffer, timestamp: string | undefined, signature: string | undefined, body: string, nowS: number, toleranceS = 300): boolean {
  if (timestamp === undefined || signature === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(signWebhook(secret, ts, body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
