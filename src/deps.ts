import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createMailer, type Mailer } from './modules/mail/mailer.js';
import pino, { type Logger } from 'pino';
import type { Config } from './config/index.js';
import type { Secrets } from './config/secrets.js';
import { openDb, type Db } from './db/pool.js';
import { migrate } from './db/migrate.js';
import { systemClock, type Clock } from './lib/clock.js';
import { createIdGenerator, type IdGenerator } from './lib/ids.js';
import { parseCidr, type Cidr } from './lib/ip.js';
import { Metrics, type LabelledCounter } from './lib/metrics.js';
import { AuditLog } from './modules/audit/service.js';
import { CustomerService } from './modules/customers/service.js';
import { Authenticator } from './modules/keys/authenticator.js';
import { KeyCache, LocalInvalidation, type KeyInvalidation } from './modules/keys/key-cache.js';
import { LastUsedTracker } from './modules/keys/last-used.js';
import { PgNotifyInvalidation } from './modules/keys/pg-invalidation.js';
import { KeyService } from './modules/keys/service.js';
import { FlexibleRateLimiter, type RateLimiter } from './modules/limits/rate-limiter.js';
import { WalletService, groupOptions } from './modules/wallet/service.js';
import { CreditLeases } from './modules/wallet/leases.js';
import { CatalogService } from './modules/catalog/service.js';
import { MediaService } from './modules/media/service.js';
import { LocalDiskStorage } from './modules/media/storage.js';
import { ReadPacer } from './modules/tasks/read-pacer.js';
import { TaskService } from './modules/tasks/service.js';
import { WebhookService } from './modules/webhooks/service.js';
import { EndpointService } from './modules/webhooks/endpoints.js';
import { SecretBox } from './lib/secret-box.js';
import { createSafeFetch, type SafeFetch } from './providers/shared/safe-fetch.js';
import { ChannelRouter, type Router } from './modules/routing/router.js';
import { ChannelService } from './modules/channels/service.js';
import { TopupOrderService } from './modules/payments/orders.js';
import { PaymentExceptionService } from './modules/payments/exceptions.js';
import { createStripeGateway, type StripeGateway } from './modules/payments/stripe-gateway.js';

/** Everything the HTTP layer, workflows and workers need, built once per process (the composition root). */
export interface Deps {
  config: Readonly<Config>;
  secrets: Secrets;
  db: Db;
  clock: Clock;
  ids: IdGenerator;
  logger: Logger;
  metrics: Metrics;
  audit: AuditLog;
  customers: CustomerService;
  keys: KeyService;
  wallet: WalletService;
  /** Per-instance credit leases for chat and embeddings requests (CREDIT_LEASES); null when off. */
  leases: CreditLeases | null;
  keyCache: KeyCache;
  invalidation: KeyInvalidation;
  lastUsed: LastUsedTracker;
  authenticator: Authenticator;
  rateLimiter: RateLimiter;
  trustedProxies: Cidr[];
  catalog: CatalogService;
  tasks: TaskService;
  media: MediaService;
  webhooks: WebhookService;
  endpoints: EndpointService;
  channels: ChannelService;
  secretBox: SecretBox;
  safeFetch: SafeFetch;
  router: Router;
  /** When a newly accepted task is first read (SEMANTICS T16): learned per channel and model, in this process. */
  readPacer: ReadPacer;
  /** In-process wake-ups: `task.created` (dispatcher), `task.resolved` (waiters, webhook sender). */
  events: EventEmitter;
  /** Verification, reset and invitation mail: SMTP when SMTP_URL is set, else the log and the mail_outbox table. */
  mailer: Mailer;
  /** Top-up orders and the one crediting function (issue 13). */
  topups: TopupOrderService;
  /** The operator's quarantine and unmatched payment queues. */
  paymentExceptions: PaymentExceptionService;
  /** Stripe through its SDK; null when STRIPE_SECRET_KEY is not set (no card top-ups). */
  stripe: StripeGateway | null;
  close(): Promise<void>;
}

export interface DepsOverrides {
  db?: Db;
  clock?: Clock;
  logger?: Logger;
  /** Skip applying migrations (tests start from a migrated template). */
  skipMigrations?: boolean;
  safeFetch?: SafeFetch;
  router?: Router;
  stripe?: StripeGateway | null;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    // K4: keys never reach the logs.
    redact: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'headers["x-api-key"]'],
  });
}

/**
 * Group commit, per kind — the wallet's reservations and resolutions, the worker's task acceptances and observations,
 * stored results' file rows: statements sent, requests they carried, groups that fell back to one by one.
 */
function groupCommitCounters(wallet: WalletService, leases: CreditLeases | null, tasks: TaskService, media: MediaService): LabelledCounter[] {
  const kinds = [
    ['reserve', wallet.reserveGroups.stats], ['resolve', wallet.resolveGroups.stats],
    ...(leases ? [['record', leases.records.stats] as const] : []),
    ['submitted', tasks.submittedGroups.stats], ['observe', tasks.observeGroups.stats], ['file', media.fileGroups.stats],
  ] as const;
  const counter = (name: string, help: string, field: 'groups' | 'items' | 'fallbacks'): LabelledCounter => ({
    name, help, values: kinds.map(([kind, stats]) => ({ labels: { kind }, value: stats[field] })),
  });
  return [
    counter('genrelay_group_commit_groups_total', 'Statements sent by group commit (one transaction each)', 'groups'),
    counter('genrelay_group_commit_items_total', 'Reservations, resolutions, acceptances or observations carried by those statements', 'items'),
    counter('genrelay_group_commit_fallbacks_total', 'Groups whose statement failed and whose items then ran one by one', 'fallbacks'),
  ];
}

/** Credit leases: takes, refusals, returns, leases found gone; requests admitted on them; credit held now. */
function leaseCounters(leases: CreditLeases): LabelledCounter[] {
  return [
    { name: 'genrelay_credit_lease_events_total', help: 'Credit lease takes, takes refused (requests then made holds of their own), returns, and leases found expired',
      values: (['takes', 'refusals', 'returns', 'lost'] as const).map((event) => ({ labels: { event }, value: leases.stats[event] })) },
    { name: 'genrelay_credit_lease_admitted_total', help: 'Chat and embeddings requests admitted on a credit lease (written once)',
      values: [{ labels: {}, value: leases.stats.admitted }] },
    { name: 'genrelay_credit_leases', help: 'Credit leases this instance holds', type: 'gauge', values: [{ labels: {}, value: leases.count }] },
  ];
}

export async function buildDeps(config: Readonly<Config>, secrets: Secrets, overrides: DepsOverrides = {}): Promise<Deps> {
  const logger = overrides.logger ?? createLogger(config);
  const clock = overrides.clock ?? systemClock;
  const ids = createIdGenerator(clock);
  const db = overrides.db ?? (await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, thread: config.embeddedDbThread }));
  if (!overrides.skipMigrations) await migrate(db);
  const metrics = new Metrics();
  const wallet = new WalletService(db, ids);
  const tasks = new TaskService(db, config.leaseMs);
  const media = new MediaService(db, new LocalDiskStorage(join(config.dataDir, 'files')), ids, clock, secrets.masterKey, config.publicBaseUrl);
  const leases = config.creditLeases
    ? new CreditLeases(db, ids, clock, { owner: ids('ins'), ttlMs: config.creditLeaseTtlMs, idleMs: config.creditLeaseIdleMs }, groupOptions(db))
    : null;
  metrics.collect(() => groupCommitCounters(wallet, leases, tasks, media));
  if (leases) metrics.collect(() => leaseCounters(leases));
  const readPacer = new ReadPacer(config.pollIntervalMs, config.adaptivePolling);
  metrics.collect(() => [{
    name: 'genrelay_first_status_read_seconds', type: 'gauge', help: 'How long after acceptance a new task of this channel (or provider) and model is first read (learned)',
    values: readPacer.entries().map(({ route, model, leadMs }) => ({ labels: { route, model }, value: leadMs / 1000 })),
  }]);
  const keys = new KeyService(db, ids, config.apiKeyPrefix);
  const keyCache = new KeyCache(clock, config.keyCacheTtlMs, config.keyCacheSize);
  const invalidation = await buildInvalidation(db, logger);
  invalidation.subscribe((change) =>
    change.kind === 'key' ? keyCache.evictHash(change.hash) : keyCache.evictCustomer(change.customerId),
  );
  const lastUsed = new LastUsedTracker(clock, (entries) => keys.touch(entries));
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, logger) : null;
  const trustedProxies = config.trustedProxies.map((cidr) => parseCidr(cidr)!);
  const secretBox = new SecretBox(secrets.masterKey);
  const safeFetch = overrides.safeFetch ?? createSafeFetch({
    allowHttpMedia: config.allowHttpMedia,
    trustedHosts: config.safeFetchTrustedHosts,
  });
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const catalog = new CatalogService(db, clock);
  const channels = new ChannelService(db, secretBox, ids, clock);
  const customers = new CustomerService(db);
  const lastUsedTimer = setInterval(() => {
    lastUsed.flush().catch((error) => logger.warn({ err: error }, 'last_used_at flush failed'));
  }, 10_000);
  lastUsedTimer.unref();
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, db, clock, logger });
  const stripe = overrides.stripe !== undefined ? overrides.stripe
    : config.stripeSecretKey && config.stripeWebhookSecret
      ? createStripeGateway({ secretKey: config.stripeSecretKey, webhookSecret: config.stripeWebhookSecret, apiBase: config.stripeApiBase })
      : null;
  return {
    mailer,
    topups: new TopupOrderService(db, ids),
    paymentExceptions: new PaymentExceptionService(db, ids),
    stripe,
    config,
    secrets,
    db,
    clock,
    ids,
    logger,
    metrics,
    audit: new AuditLog(db),
    customers,
    keys,
    wallet,
    leases,
    keyCache,
    invalidation,
    lastUsed,
    authenticator: new Authenticator(config.apiKeyPrefix, keys, keyCache, lastUsed, clock, config.defaultRateLimitRpm),
    rateLimiter: new FlexibleRateLimiter(redis),
    trustedProxies,
    catalog,
    tasks,
    media,
    webhooks: new WebhookService(db, secretBox, clock),
    endpoints: new EndpointService(db, secretBox, ids, clock),
    secretBox,
    safeFetch,
    channels,
    router: overrides.router ?? new ChannelRouter({
      channels,
      clock,
      sandboxSettings: { queueMs: config.sandboxQueueMs, runMs: config.sandboxRunMs },
      publicBaseUrl: config.publicBaseUrl,
      callbackKey: `genrelay-upstream-callbacks:${secrets.masterKey}`,
      // Read for every dispatch of a queued task: cached with the keys (same TTL, evicted by the same customer changes
      // on every instance), so a dispatch does not read the customer row each time.
      groupOf: async (customerId) => {
        const cached = keyCache.group(customerId);
        if (cached !== undefined) return cached;
        const group = (await customers.get(customerId)).group_name;
        keyCache.setGroup(customerId, group);
        return group;
      },
    }),
    readPacer,
    events,
    async close() {
      await safeFetch.close();
      clearInterval(lastUsedTimer);
      // The HTTP side has drained: no request is in flight on a lease; what is left goes back to the wallets.
      await leases?.close().catch((error) => logger.warn({ err: error }, 'returning credit leases failed'));
      await lastUsed.flush(true).catch(() => {});
      await invalidation.close();
      redis?.disconnect();
      // A database passed in by the caller is closed by its owner.
      if (!overrides.db) await db.close();
    },
  };
}

/** The limiter's Redis client; ioredis is loaded only when REDIS_URL is set (most installs start without it). */
async function connectRedis(url: string, logger: Logger): Promise<Redis> {
  const { Redis: Client } = await import('ioredis');
  const redis = new Client(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  redis.on('error', (error) => logger.warn({ err: error }, 'redis error'));
  return redis;
}

async function buildInvalidation(db: Db, logger: Logger): Promise<KeyInvalidation> {
  if (db.engine !== 'postgres') return new LocalInvalidation();
  const invalidation = new PgNotifyInvalidation(db, (error) =>
    logger.warn({ err: error }, 'key invalidation listener error'),
  );
  await invalidation.start();
  return invalidation;
}
