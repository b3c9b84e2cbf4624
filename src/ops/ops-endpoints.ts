/**
 * /metrics and /readyz as plain functions of a request's few facts, so any HTTP framework can serve
 * them: the route hands over the Authorization header and the socket's address, and sends back
 * the status, content type and body it gets.
 */
import type { Logger } from '../app/logger.ts';
import type { OpsConfig } from '../config/config.ts';
import type { Store } from '../store/open-store.ts';
import { ArchiveMetrics } from './archive-metrics.ts';
import { metricsAccess } from './metrics-access.ts';
import { readiness } from './readiness.ts';

export interface OpsReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

export interface OpsEndpoints {
  readonly metrics: ArchiveMetrics;
  /** GET /metrics */
  metricsRoute(authorization: string | undefined, remoteAddress: string | undefined): Promise<OpsReply>;
  /** GET /readyz: 200 when ready, 503 naming what is not */
  readyzRoute(): Promise<OpsReply>;
  /** after every request: its route template, method, status and duration */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function createOpsEndpoints(store: Store, config: OpsConfig, log: Logger, options: { metricsCacheMs?: number } = {}): OpsEndpoints {
  const metrics = new ArchiveMetrics(store.db, {
    ...(options.metricsCacheMs !== undefined ? { cacheMs: options.metricsCacheMs } : {}),
    onError: (what, err) => log.warn({ stage: 'metrics', source: what, err: (err as Error).message }, 'a metrics source failed; the scrape goes on without it'),
  });
  return {
    metrics,
    async metricsRoute(authorization, remoteAddress) {
      const access = metricsAccess(config.metricsToken, authorization, remoteAddress);
      if (!access.ok) return { status: access.status, contentType: JSON_TYPE, body: JSON.stringify({ error: access.error, message: access.message }) };
      const { contentType, body } = await metrics.metricsText();
      return { status: 200, contentType, body };
    },
    async readyzRoute() {
      const r = await readiness(store.db, store.dialect);
      return { status: r.ok ? 200 : 503, contentType: JSON_TYPE, body: JSON.stringify(r) };
    },
    observeRequest: (route, method, status, seconds) => metrics.observeRequest(route, method, status, seconds),
  };
}
