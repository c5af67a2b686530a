import type { Clock } from '../../lib/clock.js';

/**
 * `last_used_at` without a write per request (K8): uses are remembered in memory and flushed in batches,
 * at most one write per key per minute. Documented as accurate to 60 s.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

export class LastUsedTracker {
  private readonly pending = new Map<string, Date>();
  private readonly lastWritten = new Map<string, number>();

  constructor(
    private readonly clock: Clock,
    private readonly write: (entries: Array<{ id: string; at: Date }>) => Promise<void>,
  ) {}

  record(keyId: string): void {
    this.pending.set(keyId, this.clock.now());
  }

  /** Writes the keys whose last write is at least a minute old (or all of them with `force`, at shutdown). */
  async flush(force = false): Promise<number> {
    const now = this.clock.now().getTime();
    const due: Array<{ id: string; at: Date }> = [];
    for (const [id, at] of this.pending) {
      const written = this.lastWritten.get(id);
      if (force || written === undefined || now - written >= LAST_USED_RESOLUTION_MS) due.push({ id, at });
    }
    if (due.length === 0) return 0;
    for (const entry of due) {
      this.pending.delete(entry.id);
      this.lastWritten.set(entry.id, now);
    }
    if (this.lastWritten.size > 100_000) this.pruneWritten(now);
    await this.write(due);
    return due.length;
  }

  private pruneWritten(now: number): void {
    for (const [id, written] of this.lastWritten) {
      if (now - written >= LAST_USED_RESOLUTION_MS) this.lastWritten.delete(id);
    }
  }
}
