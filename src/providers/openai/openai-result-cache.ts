import type { StatusResult } from '../spec.js';

/**
 * Finished synchronous results by task id, bounded by total output bytes (oldest evicted first). It exists so
 * that `status()` of a synchronous image operation can repeat the final answer, outputs included, without putting
 * base64 into the stored operation. It is a per-process convenience, never the source of truth.
 */
export class ResultCache {
  private readonly entries = new Map<string, { result: StatusResult; bytes: number }>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  put(key: string, result: StatusResult): void {
    const bytes = (result.outputs ?? []).reduce((sum, output) => sum + (output.bytes?.length ?? 0), 0);
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { result, bytes });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }

  get(key: string): StatusResult | undefined {
    return this.entries.get(key)?.result;
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.total -= entry.bytes;
  }
}
