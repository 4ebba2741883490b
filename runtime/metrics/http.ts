/** `GET /metrics`: the engine's metrics in the Prometheus text format. */
import type { ServerResponse } from 'node:http';
import type { EngineMetrics } from './engine-metrics.js';

export type MetricsRoute = (res: ServerResponse) => void;

export function metricsRoute(metrics: EngineMetrics): MetricsRoute {
  return (res) => {
    metrics.render().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (err: unknown) =>
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  };
}
