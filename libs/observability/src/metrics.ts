import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry };

/** Latency buckets (seconds) from sub-millisecond Redis hops to the 15 s webhook timeout. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

/**
 * How often the event-loop delay histogram samples, in ms. prom-client's default (10 ms) wakes the
 * process 100 times a second: a bare Node process idling on the benchmark machine used 3.5 ms of CPU
 * a second so, 0.2 ms sampling once a second. Stalls long enough to matter still show, and
 * `nodejs_eventloop_lag_seconds` is measured afresh at each scrape.
 */
export const EVENT_LOOP_SAMPLE_MS = 1_000;

/**
 * One Prometheus registry per process, every series labelled with the app, plus Node's own metrics
 * (event-loop lag, heap, GC). Metrics are created on it by the code that owns them.
 */
export function createMetricsRegistry(app: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}

export function httpRequestDuration(registry: Registry): Histogram<'method' | 'route' | 'status_code'> {
  return new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
}
