import { resolve } from 'node:path';
import { parseCidr } from '../lib/ip.js';
import { packageRoot } from '../lib/package-root.js';
import { parseDuration } from '../lib/time.js';
import { assertValidPrefix } from '../lib/key-prefix.js';
import { tronAddressHex } from '../providers/chains/transfer-log.js';

/**
 * Configuration is parsed once at boot from the environment (API.md §10) and frozen; nothing else reads
 * process.env. Bad values fail fast with a message naming the variable.
 */
export type Role = 'api' | 'worker' | 'all';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | null;
  redisUrl: string | null;
  operatorApiKey: string | null;
  masterKey: string | null;
  publicBaseUrl: string;
  role: Role;
  demo: boolean;
  apiKeyPrefix: string;
  trustedProxies: string[];
  idempotencyRetentionMs: number;
  allowHttpMedia: boolean;
  safeFetchTrustedHosts: string[];
  logLevel: string;
  /** Embedded engine: PGlite on a worker thread of its own instead of the server's thread (EMBEDDED_DB_THREAD). */
  embeddedDbThread: boolean;
  keyCacheTtlMs: number;
  keyCacheSize: number;
  defaultRateLimitRpm: number | null;
  concurrencyRetryAfterSeconds: number;
  /** How often the workers look for due work, and how soon a running task is asked again. */
  workerIntervalMs: number;
  pollIntervalMs: number;
  /** Learn per channel and model how long after acceptance to read a task first (SEMANTICS T16); false: read at the interval. */
  adaptivePolling: boolean;
  /** Tasks one worker dispatches at once (free slots are claimed as they free up). */
  workerSlots: number;
  /** Status checks one worker runs at once: more than dispatches, as a check waiting for the budget holds its slot (T17). */
  pollSlots: number;
  /** New tasks of a model wait while a status check of its running tasks is overdue by more than this (0, the default: off). */
  dispatchHoldMs: number;
  /** Worker lease on a claimed task (SEMANTICS T2): how long a crashed worker's claim blocks others. */
  leaseMs: number;
  /** Track which requests committed a change and count internal errors answered after one (TRACK_COMMITS; costs CPU). */
  trackCommits: boolean;
  /** Chat and embeddings requests admitted on per-instance credit leases and written once (CREDIT_LEASES, issue 14). */
  creditLeases: boolean;
  /** A credit lease with no request in flight goes back to its wallet after this long (CREDIT_LEASE_IDLE_MS). */
  creditLeaseIdleMs: number;
  /** A credit lease's expiry after its last renewal: how long a dead instance's lease stays reserved (CREDIT_LEASE_TTL_MS). */
  creditLeaseTtlMs: number;
  /** On SIGTERM/SIGINT, how long running requests may finish before long answers are cut off (SEMANTICS "Shutdown"). */
  shutdownGraceMs: number;
  /** Sandbox phase durations (PROVIDERS §11.4): seconds in the demo, tests move the clock. */
  sandboxQueueMs: number;
  sandboxRunMs: number;
  /** Default per-model queue depth limit (R6) when the catalog sets none. */
  maxQueuedPerModel: number;
  /** How long a synchronous image request waits for its task before answering 202 with the task. */
  syncWaitMs: number;
  /** Request body bytes a process accepts at once; past it, requests with bodies get 429 (0 = no limit). */
  maxInflightBodyBytes: number;
  /** Currency the public price list shows money in (ISO 4217 code), and how many credits make one unit of it. */
  priceCurrency: string;
  creditsPerCurrencyUnit: number;
  /** Email of the pending owner the embedded default creates on its first start (no admin yet). */
  adminEmail: string;
  /** The built console (`npm run build:console` writes it); `/admin` serves `<consoleDir>/admin`. */
  consoleDir: string;
  /** SMTP server for the customer console's mail (`smtp://` or `smtps://` URL); null: mail goes to the log and mail_outbox. */
  smtpUrl: string | null;
  /** The From of that mail. */
  mailFrom: string;
  /** Credits a new sign-up's test wallet receives when its email is verified (once per normalised email). */
  signupTestCredits: number;
  /**
   * New anonymous console pre-sessions one client IP may open per minute, per console (SEMANTICS A13; 0 = no limit).
   * A browser opens one per visit without a live cookie, so 30 leaves room for many tabs or users behind one address.
   */
  consolePreSessionsPerMinute: number;
  /** Stripe (issue 13): secret key, webhook signing secret, API base (a local fake in tests). Null key: no card top-ups. */
  stripeSecretKey: string | null;
  stripeWebhookSecret: string | null;
  stripeApiBase: string;
  /** Watch-only USDT receiving addresses on TRON (TRC-20, through a TronGrid-compatible API). Empty: no TRON top-ups. */
  usdtTronAddresses: string[];
  trongridUrl: string;
  trongridApiKey: string | null;
  usdtTronContract: string;
  /** Watch-only USDT receiving addresses on one EVM chain (ERC-20 through JSON-RPC eth_getLogs). Empty: none. */
  usdtEvmAddresses: string[];
  evmRpcUrl: string | null;
  usdtEvmContract: string;
  /** The EVM chain's name as orders show it (`pay_to.network`), e.g. ethereum, bsc, polygon. */
  evmNetwork: string;
  /** EVM finality: null waits for the `finalized` block tag; a number waits for that many blocks instead. */
  evmConfirmations: number | null;
  /** TRON: blocks after which a transfer counts as solidified (TronGrid's only_confirmed). */
  tronConfirmations: number;
  /** How long a USDT order's exact amount stays reserved for it (and a Stripe order stays payable). */
  topupWindowMs: number;
  /** How often the chain watchers scan, and the Stripe reconciliation re-reads stale sessions. */
  chainScanIntervalMs: number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string): string | null {
  const value = env[name];
  return value === undefined || value.trim() === '' ? null : value.trim();
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = text(env, name);
  if (value === null) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `must be an integer, got "${value}"`);
  const parsed = Number(value);
  if (parsed < min || parsed > max) throw new ConfigError(name, `must be between ${min} and ${max}`);
  return parsed;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const value = text(env, name);
  if (value === null) return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new ConfigError(name, `must be true or false, got "${value}"`);
}

function list(env: Env, name: string): string[] {
  const value = text(env, name);
  return value === null ? [] : value.split(',').map((item) => item.trim()).filter(Boolean);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const value = text(env, name);
  if (value === null) return null;
  try {
    const parsed = new URL(value);
    if (!protocols.includes(parsed.protocol)) throw new Error('protocol');
  } catch {
    throw new ConfigError(name, `must be a ${protocols.join(' or ')} URL`);
  }
  return value;
}

function duration(env: Env, name: string, fallback: string, minimumMs: number): number {
  const raw = text(env, name) ?? fallback;
  const parsed = parseDuration(raw);
  if (parsed === null) throw new ConfigError(name, `must be a duration like 72h, got "${raw}"`);
  if (parsed < minimumMs) throw new ConfigError(name, `must be at least ${minimumMs / 3_600_000}h`);
  return parsed;
}

export function parseConfig(env: Env = process.env): Readonly<Config> {
  const port = integer(env, 'PORT', 8080, 0, 65535);
  const host = text(env, 'HOST') ?? '127.0.0.1';
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const role = text(env, 'GENRELAY_ROLE') ?? 'all';
  if (role !== 'api' && role !== 'worker' && role !== 'all') {
    throw new ConfigError('GENRELAY_ROLE', `must be api, worker or all, got "${role}"`);
  }
  const apiKeyPrefix = text(env, 'API_KEY_PREFIX') ?? 'ak';
  try {
    assertValidPrefix(apiKeyPrefix);
  } catch (error) {
    throw new ConfigError('API_KEY_PREFIX', (error as Error).message);
  }
  const operatorApiKey = text(env, 'OPERATOR_API_KEY');
  if (operatorApiKey !== null && operatorApiKey.length < 16) {
    throw new ConfigError('OPERATOR_API_KEY', 'must be at least 16 characters');
  }
  const masterKey = text(env, 'GENRELAY_MASTER_KEY');
  if (masterKey !== null && masterKey.length < 32) {
    throw new ConfigError('GENRELAY_MASTER_KEY', 'must be at least 32 characters');
  }
  const trustedProxies = list(env, 'TRUSTED_PROXIES');
  for (const cidr of trustedProxies) {
    if (!parseCidr(cidr)) throw new ConfigError('TRUSTED_PROXIES', `has an invalid address or CIDR "${cidr}"`);
  }
  const rpm = text(env, 'DEFAULT_RATE_LIMIT_RPM');
  const priceCurrency = (text(env, 'PRICE_CURRENCY') ?? 'USD').toUpperCase();
  if (!/^[A-Z]{3}$/.test(priceCurrency)) throw new ConfigError('PRICE_CURRENCY', `must be a three-letter ISO 4217 code, got "${priceCurrency}"`);
  const adminEmail = text(env, 'ADMIN_EMAIL') ?? 'admin@localhost';
  if (!/^[^@\s]+@[^@\s]+$/.test(adminEmail) || adminEmail.length > 254) throw new ConfigError('ADMIN_EMAIL', `must be an email address, got "${adminEmail}"`);
  const mailFrom = text(env, 'MAIL_FROM') ?? 'genrelay <no-reply@localhost>';
  if (!/^[^<>@\s]*(<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(mailFrom.replace(/^"[^"]*"\s*/, '').replace(/^[^<]*\s(?=<)/, '')) || mailFrom.length > 320) {
    throw new ConfigError('MAIL_FROM', `must be an address or "Name <address>", got "${mailFrom}"`);
  }
  const usdtTronAddresses = list(env, 'USDT_TRON_ADDRESSES');
  for (const address of usdtTronAddresses) {
    if (tronAddressHex(address) === null) throw new ConfigError('USDT_TRON_ADDRESSES', `has an invalid TRON address "${address}" (base58check T…)`);
  }
  const usdtEvmAddresses = list(env, 'USDT_EVM_ADDRESSES').map((address) => address.toLowerCase());
  for (const address of usdtEvmAddresses) {
    if (!/^0x[0-9a-f]{40}$/.test(address)) throw new ConfigError('USDT_EVM_ADDRESSES', `has an invalid EVM address "${address}"`);
  }
  const evmRpcUrl = url(env, 'EVM_RPC_URL', ['http:', 'https:']);
  if (usdtEvmAddresses.length > 0 && evmRpcUrl === null) throw new ConfigError('EVM_RPC_URL', 'must be set when USDT_EVM_ADDRESSES is');
  const usdtEvmContract = (text(env, 'USDT_EVM_CONTRACT') ?? '0xdac17f958d2ee523a2206206994597c13d831ec7').toLowerCase();
  if (!/^0x[0-9a-f]{40}$/.test(usdtEvmContract)) throw new ConfigError('USDT_EVM_CONTRACT', `must be a contract address, got "${usdtEvmContract}"`);
  const usdtTronContract = text(env, 'USDT_TRON_CONTRACT') ?? 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
  if (tronAddressHex(usdtTronContract) === null) throw new ConfigError('USDT_TRON_CONTRACT', `must be a TRON contract address, got "${usdtTronContract}"`);
  const evmConfirmations = text(env, 'EVM_CONFIRMATIONS');
  if ((usdtTronAddresses.length > 0 || usdtEvmAddresses.length > 0) && priceCurrency !== 'USD') {
    throw new ConfigError('PRICE_CURRENCY', 'must be USD when USDT top-ups are configured (USDT is taken at par with the dollar)');
  }
  if (text(env, 'STRIPE_SECRET_KEY') !== null && text(env, 'STRIPE_WEBHOOK_SECRET') === null) {
    throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'must be set when STRIPE_SECRET_KEY is (card payments are credited only by the signed webhook)');
  }
  const topupWindow = parseDuration(text(env, 'TOPUP_WINDOW') ?? '30m');
  if (topupWindow === null || topupWindow < 60_000 || topupWindow > 86_400_000) throw new ConfigError('TOPUP_WINDOW', 'must be a duration between 1m and 24h, like 30m');
  return Object.freeze({
    port,
    host,
    dataDir: resolve(text(env, 'DATA_DIR') ?? './data'),
    databaseUrl,
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    operatorApiKey,
    masterKey,
    publicBaseUrl: (url(env, 'PUBLIC_BASE_URL', ['http:', 'https:']) ?? `http://${host}:${port}`).replace(/\/$/, ''),
    role,
    demo: boolean(env, 'DEMO', databaseUrl === null),
    apiKeyPrefix,
    trustedProxies,
    idempotencyRetentionMs: duration(env, 'IDEMPOTENCY_RETENTION', '72h', 24 * 3_600_000),
    allowHttpMedia: boolean(env, 'ALLOW_HTTP_MEDIA', false),
    safeFetchTrustedHosts: list(env, 'SAFE_FETCH_TRUSTED_HOSTS'),
    logLevel: text(env, 'LOG_LEVEL') ?? 'info',
    embeddedDbThread: boolean(env, 'EMBEDDED_DB_THREAD', false),
    keyCacheTtlMs: integer(env, 'KEY_CACHE_TTL_SECONDS', 30, 1, 30) * 1000,
    keyCacheSize: integer(env, 'KEY_CACHE_SIZE', 10_000, 1, 1_000_000),
    defaultRateLimitRpm: rpm === null ? null : integer(env, 'DEFAULT_RATE_LIMIT_RPM', 0, 1, 1_000_000),
    concurrencyRetryAfterSeconds: integer(env, 'CONCURRENCY_RETRY_AFTER_SECONDS', 5, 1, 3600),
    workerIntervalMs: integer(env, 'WORKER_INTERVAL_MS', 1000, 10, 60_000),
    pollIntervalMs: integer(env, 'POLL_INTERVAL_MS', 2000, 0, 600_000),
    adaptivePolling: boolean(env, 'ADAPTIVE_POLLING', true),
    workerSlots: integer(env, 'WORKER_SLOTS', 100, 1, 10_000),
    pollSlots: integer(env, 'POLL_SLOTS', 1000, 1, 10_000),
    dispatchHoldMs: integer(env, 'DISPATCH_HOLD_MS', 0, 0, 3_600_000),
    leaseMs: integer(env, 'WORKER_LEASE_MS', 60_000, 1000, 3_600_000),
    trackCommits: boolean(env, 'TRACK_COMMITS', false),
    creditLeases: boolean(env, 'CREDIT_LEASES', true),
    creditLeaseIdleMs: integer(env, 'CREDIT_LEASE_IDLE_MS', 2000, 0, 600_000),
    creditLeaseTtlMs: integer(env, 'CREDIT_LEASE_TTL_MS', 60_000, 5000, 3_600_000),
    shutdownGraceMs: integer(env, 'SHUTDOWN_GRACE_MS', 20_000, 0, 600_000),
    sandboxQueueMs: integer(env, 'SANDBOX_QUEUE_MS', 2000, 0, 3_600_000),
    sandboxRunMs: integer(env, 'SANDBOX_RUN_MS', 3000, 0, 3_600_000),
    syncWaitMs: integer(env, 'SYNC_WAIT_MS', 120_000, 1000, 600_000),
    maxQueuedPerModel: integer(env, 'MAX_QUEUED_PER_MODEL', 10_000, 1, 10_000_000),
    maxInflightBodyBytes: integer(env, 'MAX_INFLIGHT_BODY_MB', 256, 0, 65_536) * 1024 * 1024,
    priceCurrency,
    creditsPerCurrencyUnit: integer(env, 'CREDITS_PER_CURRENCY_UNIT', 10_000, 1, 1_000_000_000),
    adminEmail,
    consoleDir: resolve(text(env, 'CONSOLE_DIR') ?? resolve(packageRoot(), 'dist', 'console')),
    smtpUrl: url(env, 'SMTP_URL', ['smtp:', 'smtps:']),
    mailFrom,
    signupTestCredits: integer(env, 'SIGNUP_TEST_CREDITS', 50_000, 0, 1_000_000_000_000),
    consolePreSessionsPerMinute: integer(env, 'CONSOLE_PRESESSIONS_PER_MINUTE', 30, 0, 1_000_000),
    stripeSecretKey: text(env, 'STRIPE_SECRET_KEY'),
    stripeWebhookSecret: text(env, 'STRIPE_WEBHOOK_SECRET'),
    stripeApiBase: (url(env, 'STRIPE_API_BASE', ['http:', 'https:']) ?? 'https://api.stripe.com').replace(/\/$/, ''),
    usdtTronAddresses,
    trongridUrl: (url(env, 'TRONGRID_URL', ['http:', 'https:']) ?? 'https://api.trongrid.io').replace(/\/$/, ''),
    trongridApiKey: text(env, 'TRONGRID_API_KEY'),
    usdtTronContract,
    usdtEvmAddresses,
    evmRpcUrl,
    usdtEvmContract,
    evmNetwork: (text(env, 'EVM_NETWORK') ?? 'ethereum').toLowerCase(),
    evmConfirmations: evmConfirmations === null ? null : integer(env, 'EVM_CONFIRMATIONS', 0, 1, 10_000),
    tronConfirmations: integer(env, 'TRON_CONFIRMATIONS', 19, 1, 10_000),
    topupWindowMs: topupWindow,
    chainScanIntervalMs: integer(env, 'CHAIN_SCAN_INTERVAL_MS', 10_000, 100, 3_600_000),
  });
}
