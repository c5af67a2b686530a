import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { TokenBucket, type BudgetUse } from '../../lib/token-bucket.js';
import type { CatalogModel, PriceRule } from '../catalog/types.js';
import type { ChannelRow, ChannelService, CredentialRow } from '../channels/service.js';
import type { TaskRow } from '../tasks/types.js';
import { createAdapter, isInternalProvider, TEST_MODE_PROVIDER } from '../../providers/registry.js';
import type { ErrorClass, ProviderAdapter, ProviderContext, ProviderError } from '../../providers/spec.js';

/**
 * Picks the provider route of a task (API.md §8). Test keys always run on the built-in sandbox (SEMANTICS K11).
 * Live tasks run on the channels of the customer's group that map the model: the highest priority tier with an
 * enabled channel whose circuit is closed (or due for a probe) and a credential with capacity, weighted by
 * `weight` inside the tier, preferring channels this task has not failed on yet (failover).
 */
export interface Route {
  providerId: string;
  channelId: string | null;
  credentialId: string | null;
  adapter: ProviderAdapter;
  context: Omit<ProviderContext, 'clock' | 'attempt'>;
  /** Origins whose result URLs are trusted for this route (SEMANTICS S11: the channel's own base URL). */
  trustedOrigins: string[];
  /** Error classes on which this channel's failures move the task to the next channel. */
  failoverOn: ErrorClass[];
  maxAttempts: number;
  /** The channel's upstream cost rule for the task's model (M11); null on the sandbox or when the channel has none. */
  cost: PriceRule | null;
  /**
   * Waits for the channel's upstream request budget (settings.requests_per_second, default 100 per process): status
   * reads and live requests (`now`, the default) go before starting new tasks (`later`) when the budget is contended.
   */
  budget: (use?: BudgetUse) => Promise<void>;
}

export interface Router {
  /** Whether a new task for this model could be served now (R7), decided before the hot path. */
  hasRoute(mode: 'live' | 'test', model: CatalogModel, group: string): Promise<boolean>;
  /** `group` when the caller already knows the customer's group (the text path), else it is looked up. */
  routeFor(task: TaskRow, group?: string): Promise<Route | null>;
  /** The route a submitted task runs on, for status, cancel, callbacks and sweeping. */
  routeOf(task: TaskRow): Promise<Route | null>;
  /** A route pinned to one credential, for the operator's test generation; null when the credential or channel is gone. */
  routeForCredential(credentialId: string, model: string): Promise<Route | null>;
  /** Feeds a start outcome back into credential and channel health. */
  report(route: Route, error: ProviderError | null): Promise<void>;
  /** Returns the task id named by a signed upstream callback token of this channel, else null (no guessing). */
  verifyCallbackToken(channelId: string, token: string): string | null;
}

function resultOrigins(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export const DEFAULT_FAILOVER_ON: ErrorClass[] = ['rate_limited', 'auth', 'upstream_quota', 'not_found', 'network', 'upstream_error'];

export interface RouterOptions {
  channels: ChannelService;
  clock: Clock;
  sandboxSettings: Record<string, unknown>;
  publicBaseUrl: string;
  callbackKey: string;
  groupOf: (customerId: string) => Promise<string>;
}

export class ChannelRouter implements Router {
  private readonly sandbox: ProviderAdapter;
  private readonly adapters = new Map<string, ProviderAdapter>();
  private readonly budgets = new Map<string, TokenBucket>();

  constructor(private readonly options: RouterOptions) {
    this.sandbox = createAdapter(TEST_MODE_PROVIDER, options.sandboxSettings);
  }

  private sandboxRoute(task: TaskRow): Route {
    return { providerId: TEST_MODE_PROVIDER, channelId: null, credentialId: null, adapter: this.sandbox, context: { upstreamModel: task.model, settings: {} }, trustedOrigins: [], failoverOn: [], maxAttempts: 5, cost: null, budget: async () => {} };
  }

  private adapterFor(channel: ChannelRow): ProviderAdapter {
    const key = `${channel.id}:${channel.updated_at.getTime()}`;
    let adapter = this.adapters.get(key);
    if (!adapter) {
      adapter = createAdapter(channel.provider, channel.settings);
      this.adapters.set(key, adapter);
    }
    return adapter;
  }

  /** Active, not cooling down, and not known to be out of money (an upstream-reported balance ≤ 0). */
  private usable(credential: CredentialRow, now: number): boolean {
    return credential.status === 'active' && (!credential.cooldown_until || credential.cooldown_until.getTime() <= now)
      && !(credential.remaining_balance !== null && Number(credential.remaining_balance) <= 0);
  }

  private candidates(channels: ChannelRow[], credentials: CredentialRow[], model: string, group: string): Array<{ channel: ChannelRow; credential: CredentialRow }> {
    const now = this.options.clock.now().getTime();
    const result: Array<{ channel: ChannelRow; credential: CredentialRow }> = [];
    for (const channel of channels) {
      if (!channel.enabled || channel.group_name !== group || channel.models[model] === undefined) continue;
      if (channel.open_until && channel.open_until.getTime() > now) continue;
      const pool = credentials.filter((credential) => credential.channel_id === channel.id && this.usable(credential, now));
      if (pool.length === 0) continue;
      // Rotation: the least recently used credential of the channel.
      pool.sort((a, b) => (a.last_used_at?.getTime() ?? 0) - (b.last_used_at?.getTime() ?? 0));
      result.push({ channel, credential: pool[0]! });
    }
    return result;
  }

  async hasRoute(mode: 'live' | 'test', model: CatalogModel, group: string): Promise<boolean> {
    if (mode === 'test') {
      return model.type === 'chat' || model.type === 'embedding' ? this.sandbox.text !== undefined : this.sandbox.capabilities.kinds.includes(model.type as never);
    }
    const { channels, credentials } = await this.options.channels.routingSnapshot();
    return this.candidates(channels, credentials, model.id, group).length > 0;
  }

  async routeFor(task: TaskRow, group?: string): Promise<Route | null> {
    if (task.mode === 'test') return this.sandboxRoute(task);
    const { channels, credentials } = await this.options.channels.routingSnapshot();
    const all = this.candidates(channels, credentials, task.model, group ?? (await this.options.groupOf(task.customer_id)));
    const untried = all.filter((candidate) => !task.tried_channels?.includes(candidate.channel.id));
    const pool = untried.length > 0 ? untried : all;
    if (pool.length === 0) return null;
    const top = Math.max(...pool.map((candidate) => candidate.channel.priority));
    const tier = pool.filter((candidate) => candidate.channel.priority === top);
    const total = tier.reduce((sum, candidate) => sum + candidate.channel.weight, 0);
    let pick = Math.random() * total;
    const chosen = tier.find((candidate) => (pick -= candidate.channel.weight) < 0) ?? tier[0]!;
    return this.route(task, chosen.channel, chosen.credential);
  }

  async routeOf(task: TaskRow): Promise<Route | null> {
    if (task.mode === 'test' || isInternalProvider(task.provider)) return this.sandboxRoute(task);
    if (!task.channel_id) return null;
    const { channels, credentials } = await this.options.channels.routingSnapshot();
    const channel = channels.find((candidate) => candidate.id === task.channel_id);
    if (!channel) return null;
    // Status reads keep the submitting credential when it still exists (the upstream task belongs to its account).
    const credential = credentials.find((candidate) => candidate.id === task.credential_id && candidate.credential_encrypted)
      ?? credentials.find((candidate) => candidate.channel_id === channel.id && candidate.status === 'active');
    return credential ? this.route(task, channel, credential) : null;
  }

  /** A route pinned to one credential, for the operator's test generation. */
  async routeForCredential(credentialId: string, model: string): Promise<Route | null> {
    const { channels, credentials } = await this.options.channels.routingSnapshot();
    const credential = credentials.find((candidate) => candidate.id === credentialId);
    const channel = credential && channels.find((candidate) => candidate.id === credential.channel_id);
    if (!credential || !channel) return null;
    return this.route({ id: `acctest_${credentialId}`, model } as TaskRow, channel, credential);
  }

  private route(task: TaskRow, channel: ChannelRow, credential: CredentialRow): Route {
    const adapter = this.adapterFor(channel);
    return {
      providerId: channel.provider,
      channelId: channel.id,
      credentialId: credential.id,
      adapter,
      context: {
        upstreamModel: channel.models[task.model] ?? task.model,
        baseUrl: channel.base_url,
        credential: this.options.channels.secretOf(credential),
        settings: channel.settings,
        ...(adapter.capabilities.callbacks ? { callbackUrl: this.callbackUrl(channel.id, task.id) } : {}),
      },
      // S11: the channel's own origin, plus result hosts the operator lists for it (e.g. the upstream's CDN).
      trustedOrigins: [new URL(channel.base_url).origin, ...resultOrigins(channel.settings.result_origins)],
      failoverOn: channel.retry.failover_on ?? DEFAULT_FAILOVER_ON,
      maxAttempts: channel.retry.attempts ?? 5,
      cost: channel.costs?.[task.model] ?? null,
      budget: (use) => this.budgetOf(channel).take(use),
    };
  }

  private budgetOf(channel: ChannelRow): TokenBucket {
    const rate = typeof channel.settings.requests_per_second === 'number' && channel.settings.requests_per_second > 0 ? channel.settings.requests_per_second : 100;
    const key = `${channel.id}:${rate}`;
    let bucket = this.budgets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(rate);
      this.budgets.set(key, bucket);
    }
    return bucket;
  }

  /** `/webhooks/upstream/:channel/:token` where the token names the task and is signed (no guessing). */
  callbackUrl(channelId: string, taskId: string): string {
    return `${this.options.publicBaseUrl}/webhooks/upstream/${channelId}/${taskId}.${this.signature(channelId, taskId)}`;
  }

  private signature(channelId: string, taskId: string): string {
    return createHmac('sha256', this.options.callbackKey).update(`${channelId}:${taskId}`).digest('base64url').slice(0, 32);
  }

  /** Returns the task id of a valid callback token, else null. */
  verifyCallbackToken(channelId: string, token: string): string | null {
    const dot = token.lastIndexOf('.');
    if (dot <= 0) return null;
    const taskId = token.slice(0, dot);
    const expected = Buffer.from(this.signature(channelId, taskId));
    const given = Buffer.from(token.slice(dot + 1));
    return expected.length === given.length && timingSafeEqual(expected, given) ? taskId : null;
  }

  async report(route: Route, error: ProviderError | null): Promise<void> {
    if (!route.channelId || !route.credentialId) return;
    const channels = this.options.channels;
    if (!error) {
      await channels.markUsed(route.credentialId);
      await channels.recordOutcome(route.channelId, true);
      return;
    }
    if (error.class === 'rate_limited') await channels.coolDown(route.credentialId, error.retryAfterSeconds ?? 30);
    else if (error.class === 'auth') await channels.disable(route.credentialId, 'upstream rejected the credential');
    else if (error.class === 'upstream_quota') await channels.disable(route.credentialId, 'upstream quota or balance exhausted');
    else if (error.class === 'upstream_error' || error.class === 'network') await channels.recordOutcome(route.channelId, false);
  }
}
