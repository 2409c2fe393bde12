// istio_requests_total and istio_request_duration_milliseconds, counted in plain numbers and turned into
// Prometheus values only when scraped. Why not prom-client's Counter and Histogram: each inc()/observe() hashes the
// eight label values again (even through a cached child), a measured share of the proxy's CPU per request; here a
// request costs one Map lookup, two additions and a bucket scan. The registry formats these like its own metrics.

type Labels = Record<string, string | number>;

interface Series {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative): buckets[i] counts values <= bounds[i] and > bounds[i-1]. */
  buckets: number[];
}

interface Value {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry#registerMetric needs of a metric: a name and a get() that lists the values. */
export interface CollectedMetric {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'counter' | 'histogram'; aggregator: 'sum'; values: Value[] }>;
}

export interface HttpSeries {
  /** Counts one request under `key` (labels built by `labels()` the first time the key is seen). */
  record(key: string, labels: () => Labels, durationMs: number): void;
  requests: CollectedMetric;
  duration: CollectedMetric;
}

export function createHttpSeries(names: { requests: string; duration: string }, help: { requests: string; duration: string }, bounds: number[]): HttpSeries {
  const series = new Map<string, Series>();
  const metric = (name: string, text: string, type: 'counter' | 'histogram', values: () => Value[]): CollectedMetric => ({
    name, help: text, type, aggregator: 'sum',
    get: async () => ({ name, help: text, type, aggregator: 'sum', values: values() }),
  });
  return {
    record(key, labels, durationMs) {
      let s = series.get(key);
      if (s === undefined) {
        s = { labels: labels(), count: 0, sum: 0, buckets: new Array<number>(bounds.length).fill(0) };
        series.set(key, s);
      }
      s.count += 1;
      s.sum += durationMs;
      for (let i = 0; i < bounds.length; i += 1) {
        if (durationMs <= bounds[i]!) {
          s.buckets[i]! += 1;
          break;
        }
      }
    },
    requests: metric(names.requests, help.requests, 'counter', () => [...series.values()].map((s) => ({ labels: s.labels, value: s.count }))),
    duration: metric(names.duration, help.duration, 'histogram', () => {
      const values: Value[] = [];
      const bucket = `${names.duration}_bucket`;
      for (const s of series.values()) {
        let cumulative = 0;
        bounds.forEach((le, i) => {
          cumulative += s.buckets[i]!;
          values.push({ labels: { le, ...s.labels }, value: cumulative, metricName: bucket });
        });
        values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: bucket });
        values.push({ labels: s.labels, value: s.sum, metricName: `${names.duration}_sum` });
        values.push({ labels: s.labels, value: s.count, metricName: `${names.duration}_count` });
      }
      return values;
    }),
  };
}
