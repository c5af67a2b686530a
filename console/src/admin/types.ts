/**
 * Shapes of the JSON the admin console reads, as documented in docs/API.md §8 and the console contract. Only the
 * fields the pages use are typed; add fields here (not inline in pages) when a page needs more.
 */
import type { Role } from './session';

/** `{object: "list", data, has_more}` (API.md §2.4). */
export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export type Mode = 'live' | 'test';

export interface Balance {
  balance: number;
  reserved: number;
  available: number;
}

export interface Plan {
  rate_limit_rpm: number | null;
  max_concurrency: number | null;
  allowed_models: string[] | null;
}

export interface Customer {
  id: string;
  object: 'customer';
  name: string;
  email: string | null;
  status: 'active' | 'suspended';
  group: string;
  plan: Plan;
  credits: { live: Balance | null; test: Balance | null };
  created_at: string;
  updated_at: string;
}

export interface ApiKey {
  id: string;
  object: 'api_key';
  name: string;
  key_prefix: string;
  /** Only in the answer to a create or rotate. */
  key?: string;
  mode: Mode;
  scopes: string[] | null;
  status: 'active' | 'revoked' | 'expired';
  customer_id: string;
  allowed_models: string[] | null;
  ip_allowlist: string[] | null;
  rate_limit_rpm: number | null;
  max_concurrency: number | null;
  inflight: number;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  rotated_from: string | null;
}

export interface LedgerEntry {
  id: string;
  object: 'ledger_entry';
  mode: Mode;
  kind: string;
  amount: number;
  reason: string | null;
  reference: string | null;
  ref_type: string | null;
  ref_id: string | null;
  /** The task a charge settled, when the server names it (the ledger otherwise gives the hold, `ref_id` `res_…`). */
  task_id?: string | null;
  created_at: string;
}

export interface Ledger extends Balance {
  mode: Mode;
  entries: LedgerEntry[];
  has_more: boolean;
}

export interface CreditResult extends Balance {
  entry: LedgerEntry;
  mode: Mode;
}

export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';
export type TaskType = 'video' | 'image' | 'music' | 'chat' | 'embedding';

/** `GET /api/admin/tasks` rows and `GET /api/admin/tasks/:id`. */
export interface OperatorTask {
  id: string;
  object: 'task';
  customer_id: string;
  mode: Mode;
  api_key_id: string | null;
  face: string;
  type: TaskType;
  model: string;
  status: TaskStatus;
  internal_status: string;
  progress: number;
  channel_id: string | null;
  provider: string | null;
  account_id: string | null;
  account_label: string | null;
  upstream_task_id: string | null;
  attempts: number;
  channels_tried: string[] | null;
  created_at: string;
  submitted_at: string | null;
  completed_at: string | null;
  updated_at: string;
  next_action_at: string | null;
  credits: { reserved: number; charged: number; cost: number | null };
  price_version: number | null;
  price_percent: number | null;
  error: { code: string | null; message: string | null; upstream_error: unknown } | null;
  callback_url: string | null;
  metadata: Record<string, unknown>;
  request: Record<string, unknown>;
  result_files: string[];
}

export interface Group {
  id: string;
  object: 'group';
  name: string | null;
  price_percent: number;
}

/** `GET /api/admin/dashboard?window=` (console contract). Amounts are integer credits. */
export type DashboardWindow = '24h' | '7d' | '30d';

export interface Dashboard {
  window: DashboardWindow;
  from: string;
  to: string;
  bucket: 'hour' | 'day';
  series: { at: string; requests: number; succeeded: number; failed: number; charged: number; cost: number; margin: number }[];
  by_model: { model: string; requests: number; failed: number; failure_rate: number; charged: number; cost: number; margin: number }[];
  totals: { requests: number; failed: number; charged: number; cost: number; margin: number };
  in_flight: { queued: number; running: number; total: number };
  channels: {
    id: string;
    name: string;
    enabled: boolean;
    accounts_total: number;
    accounts_active: number;
    accounts_cooling: number;
    accounts_disabled: number;
    success_rate_24h: number | null;
  }[];
  accounts_attention: {
    id: string;
    channel_id: string;
    label: string | null;
    state: 'cooling' | 'disabled' | 'low_balance';
    reason: string | null;
    until: string | null;
    balance: number | null;
  }[];
}

export type SignupMode = 'open' | 'invite' | 'closed';

export interface Settings {
  signup_mode: SignupMode;
}

export interface AdminUser {
  id: string;
  email: string;
  role: Role;
  status: 'pending' | 'active' | 'disabled';
  totp_enrolled: boolean;
  created_at: string;
  last_login_at: string | null;
}

export interface AdminSessionRow {
  id: string;
  admin_id: string;
  email: string;
  state: string;
  ip: string | null;
  user_agent: string | null;
  created_at: string;
  last_seen_at: string | null;
  current: boolean;
}

export interface EnrollmentLink {
  enrollment_url: string;
  enrollment_expires_at: string;
}

/* ---- Channels, accounts, models, prices, tasks, deliveries, audit (the second SPA helper's pages) ---- */

/** A price rule (SEMANTICS M1): integer credits per `unit`; `credits_by` refines by variant; token prices per million. */
export interface PriceRule {
  unit: 'second' | 'image' | 'track' | 'token';
  credits?: number;
  credits_by?: Record<string, number>;
  input_credits_per_million?: number;
  output_credits_per_million?: number;
}

/** Error classes a channel's `retry.failover_on` may name (routes/operator/channels.ts). */
export type ErrorClass =
  | 'invalid_request' | 'moderation_input' | 'moderation_output' | 'auth' | 'upstream_quota' | 'rate_limited'
  | 'upstream_error' | 'network' | 'not_found' | 'unsupported';

/** `GET /api/admin/channels` rows (workflows/channels.ts channelView). */
export interface Channel {
  id: string;
  object: 'channel';
  name: string;
  provider: string;
  base_url: string;
  models: Record<string, string>;
  group: string;
  priority: number;
  weight: number;
  enabled: boolean;
  retry: { attempts?: number; failover_on?: ErrorClass[] } | null;
  settings: Record<string, unknown> | null;
  costs: Record<string, PriceRule>;
  health: 'healthy' | 'degraded' | 'open';
  consecutive_failures: number;
  open_until: string | null;
  created_at: string | null;
  updated_at: string | null;
}

/** `GET /api/admin/channels[/:id]` items: the channel and its credential pool in counts (deleted accounts apart). */
export interface ChannelWithAccounts extends Channel {
  accounts?: { total: number; active: number; cooldown: number; disabled: number; deleted: number };
}

/** `GET /api/admin/providers` rows: the upstream providers a channel may name (the server's registry). */
export interface Provider {
  id: string;
  object: 'provider';
  /** Task types it serves: generation kinds, then `chat` / `embedding`. */
  types: string[];
  capabilities: { callbacks: boolean; cancel: boolean; idempotent_creates: boolean };
  reads_balance: boolean;
  balance_setting: boolean;
  settings_keys: string[] | null;
}

/** `GET /api/accounts?channel_id=` rows (accountView): the credential itself is never returned. */
export interface Account {
  id: string;
  object: 'account';
  channel_id: string;
  label: string | null;
  status: 'active' | 'cooldown' | 'disabled';
  cooldown_until: string | null;
  disabled_reason: string | null;
  balance: number | null;
  balance_checked_at: string | null;
  last_used_at: string | null;
  uses: number;
  created_at: string | null;
}

/** `POST /api/accounts/import` answer; `line` counts from 0 in the order sent. */
export interface AccountImport {
  object: 'account_import';
  channel_id: string;
  created: number;
  duplicates: number;
  invalid: number;
  results: (
    | { line: number; status: 'created'; id: string; label: string | null }
    | { line: number; status: 'duplicate'; duplicate_of: string }
    | { line: number; status: 'invalid'; error: string }
  )[];
}

/** A result's media as native task views give it: signed genrelay links. */
export interface ResultMedia {
  url: string;
  assets?: { url: string; content_type?: string | null }[];
}

/** `POST /api/accounts/:id/test` answer. `result` is read when the server sends one (media of the test generation). */
export interface AccountTestResult {
  ok: boolean;
  model: string;
  outcome: string;
  status: string | null;
  error: { class: string; message: string } | null;
  latency_ms: number;
  balance: number | null;
  result?: ResultMedia | null;
}

export type ModelType = 'video' | 'image' | 'music' | 'chat' | 'embedding';

export interface ListPrice {
  amount: number;
  currency: string;
  unit: 'second' | 'image' | 'track' | 'million_tokens';
  amount_by?: Record<string, number>;
}

export interface PriceVersion {
  version: number;
  pricing: PriceRule;
  effective_at: string;
  created_at: string | null;
  scheduled: boolean;
  /** Only in `GET …/models/:id/prices`. */
  in_force?: boolean;
}

/** `GET /api/admin/models[/:id]` (adminModelView): disabled models included. */
export interface AdminModel {
  id: string;
  object: 'model';
  type: ModelType;
  category: string;
  display_name: string;
  description: string | null;
  capabilities: Record<string, unknown>;
  pricing: PriceRule | null;
  price_version: number | null;
  scheduled_prices: PriceVersion[];
  list_price: ListPrice | null;
  enabled: boolean;
  sort_order: number;
  created_at: string | null;
  updated_at: string | null;
}

export interface PriceHistory {
  object: 'list';
  model: string;
  price_version: number | null;
  data: PriceVersion[];
}

/** `GET /api/pricing` (public, no auth; API.md §11), the fields the preview shows. */
export interface PublicPriceList {
  object: 'list';
  currency: string;
  credits_per_currency_unit: number;
  data: {
    id: string;
    name: string;
    type: ModelType;
    category: string;
    prices: { variant: string | null; unit: string; credits: number; amount: string; list_price: ListPrice | null; discount_percent: number | null }[];
    discount_percent: number | null;
  }[];
}

/** `GET /api/admin/webhook-deliveries` rows. */
export interface WebhookDelivery {
  id: string;
  object: 'webhook_delivery';
  customer_id?: string;
  mode: Mode;
  webhook_id: string | null;
  event_type: string;
  task_id: string | null;
  endpoint_id: string | null;
  target_host: string | null;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempt_count: number;
  last_status_code: number | null;
  next_attempt_at: string | null;
  created_at: string | null;
  completed_at: string | null;
  attempts: { attempt: number; attempted_at: string | null; target_host: string | null; status_code: number | null; duration_ms: number | null; error: string | null }[];
}

/** `GET /api/admin/audit` rows. */
export interface AuditEvent {
  id: string;
  actor: string;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
  user_agent: string | null;
  before: unknown;
  after: unknown;
  created_at: string | null;
}

/** `GET /api/admin/tasks/:id`; `result` is read when the server sends signed links to the result (see TaskDetail). */
export interface OperatorTaskDetail extends OperatorTask {
  result?: ResultMedia | null;
}
