import type pg from 'pg';
import type { Db } from '../../db/pool.js';
import { decodeKeyChange, encodeKeyChange, type KeyChange, type KeyInvalidation } from './key-cache.js';

/**
 * Cross-process key-cache invalidation over PostgreSQL LISTEN/NOTIFY (K7). Each process keeps one dedicated
 * connection outside the pool; if it drops, it reconnects, and the cache TTL bounds staleness meanwhile.
 */
export const CHANNEL = 'genrelay_key_changed';

export class PgNotifyInvalidation implements KeyInvalidation {
  private client: pg.Client | null = null;
  private readonly listeners: Array<(change: KeyChange) => void> = [];
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly db: Db,
    private readonly onError: (error: unknown) => void,
  ) {}

  async start(): Promise<void> {
    const client = await this.db.listenClient();
    if (!client) return;
    client.on('notification', (message) => {
      const change = message.payload ? decodeKeyChange(message.payload) : null;
      if (change) for (const listener of this.listeners) listener(change);
    });
    client.on('error', (error) => {
      this.onError(error);
      this.scheduleReconnect();
    });
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const old = this.client;
    this.client = null;
    old?.end().catch(() => {});
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.start().catch((error) => {
        this.onError(error);
        this.scheduleReconnect();
      });
    }, 1000);
    this.reconnectTimer.unref();
  }

  async publish(change: KeyChange): Promise<void> {
    await this.db.query('SELECT pg_notify($1, $2)', [CHANNEL, encodeKeyChange(change)]);
  }

  subscribe(listener: (change: KeyChange) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => {});
    this.client = null;
  }
}
