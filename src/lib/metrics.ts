/**
 * A few process counters, exposed in Prometheus text format at /metrics. Kept dependency-free until the
 * worker adds histograms.
 */
export interface LabelledCounter {
  name: string;
  help: string;
  /** Prometheus type; a counter unless said otherwise. */
  type?: 'counter' | 'gauge';
  /** One value per label set, e.g. `[{ labels: { kind: 'reserve' }, value: 3 }]`. */
  values: Array<{ labels: Record<string, string>; value: number }>;
}

export class Metrics {
  private readonly counters = new Map<string, { help: string; value: number }>();
  private readonly collectors: Array<() => LabelledCounter[]> = [];

  increment(name: string, help: string, by = 1): void {
    const counter = this.counters.get(name) ?? { help, value: 0 };
    counter.value += by;
    this.counters.set(name, counter);
  }

  value(name: string): number {
    return this.counters.get(name)?.value ?? 0;
  }

  /** Counters another part keeps itself (read when /metrics is rendered, so the hot path pays nothing). */
  collect(collector: () => LabelledCounter[]): void {
    this.collectors.push(collector);
  }

  render(): string {
    let out = '';
    for (const [name, counter] of this.counters) {
      out += `# HELP ${name} ${counter.help}\n# TYPE ${name} counter\n${name} ${counter.value}\n`;
    }
    for (const collector of this.collectors) {
      for (const counter of collector()) {
        out += `# HELP ${counter.name} ${counter.help}\n# TYPE ${counter.name} ${counter.type ?? 'counter'}\n`;
        for (const { labels, value } of counter.values) {
          const set = Object.entries(labels).map(([key, label]) => `${key}="${label}"`).join(',');
          out += `${counter.name}${set ? `{${set}}` : ''} ${value}\n`;
        }
      }
    }
    return out;
  }
}
