/**
 * A few process counters, exposed in Prometheus text format at /metrics. Kept dependency-free until the
 * worker adds histograms.
 */
export class Metrics {
  private readonly counters = new Map<string, { help: string; value: number }>();

  increment(name: string, help: string, by = 1): void {
    const counter = this.counters.get(name) ?? { help, value: 0 };
    counter.value += by;
    this.counters.set(name, counter);
  }

  value(name: string): number {
    return this.counters.get(name)?.value ?? 0;
  }

  render(): string {
    let out = '';
    for (const [name, counter] of this.counters) {
      out += `# HELP ${name} ${counter.help}\n# TYPE ${name} counter\n${name} ${counter.value}\n`;
    }
    return out;
  }
}
