/**
 * JSON shapes the customer console reads: `/console/api/**` (the issue-12 console contract) and the native task and
 * model views it reuses (docs/API.md §3).
 */
export type Mode = 'live' | 'test';
export type CustomerRole = 'owner' | 'member';
export type SignupMode = 'open' | 'invite' | 'closed';

export interface CustomerUser {
  id: string;
  email: string;
  role: CustomerRole;
  email_verified: boolean;
  totp_enabled: boolean;
}

export interface ConsoleSession {
  state: 'anonymous' | 'mfa_pending' | 'authenticated';
  csrf_token: string;
  user: CustomerUser | null;
  customer: { id: string; name: string | null } | null;
  signup_mode: SignupMode;
}

/** What sign-up, login and TOTP answer: the new state and CSRF token (the session id rotated). */
export interface SessionChange {
  state: ConsoleSession['state'] | 'verify_email';
  csrf_token?: string;
  user?: CustomerUser | null;
  customer?: ConsoleSession['customer'];
}

export interface List<T> {
  object?: 'list';
  data: T[];
  has_more: boolean;
}

export interface Balance {
  balance: number;
  reserved: number;
  available: number;
}

export interface Overview {
  balances: { live: Balance; test: Balance };
  spend: { today: number; d7: number; d30: number };
  series: { day: string; charged: number }[];
  base_url: string;
}

export type KeyStatus = 'active' | 'expired' | 'revoked' | 'rotating';

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  mode: Mode;
  created_at: string | number;
  last_used_at: string | number | null;
  expires_at: string | number | null;
  status: KeyStatus;
  allowed_models: string[] | null;
}

/** A create or rotate answer: the key view plus its secret, shown once. */
export interface KeyWithSecret extends ApiKey {
  key?: string;
  secret?: string;
}

export type GroupBy = 'day' | 'model' | 'key';

export interface UsageRow {
  key: string;
  requests: number;
  succeeded: number;
  failed: number;
  credits: number;
}

export interface UsageReport {
  usage: UsageRow[];
  from: string;
  to: string;
  group_by: GroupBy;
  has_more: boolean;
}

export type TaskType = 'video' | 'image' | 'music' | 'text' | 'chat' | 'embedding';
export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'expired';

export interface ResultAsset {
  url: string;
  content_type?: string | null;
  width?: number | null;
  height?: number | null;
  duration_seconds?: number | null;
  expires_at?: string | number | null;
}

export interface Task {
  id: string;
  object?: 'task';
  type: TaskType;
  model: string;
  status: TaskStatus;
  progress?: number;
  created_at: string | number;
  updated_at?: string | number | null;
  completed_at?: string | number | null;
  mode: Mode;
  request?: Record<string, unknown> | null;
  result?: { url: string; assets?: ResultAsset[] } | null;
  error?: { code: string; message: string } | null;
  credits?: { reserved: number; charged: number } | null;
  api_key_id?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface TaskDetail extends Task {
  parameters?: Record<string, unknown> | null;
  /** Every time the task row keeps (RFC 3339): created (queued), submitted upstream, last update, finished. */
  timeline?: { created_at?: string | null; submitted_at?: string | null; updated_at?: string | null; completed_at?: string | null } | null;
  charge?: { reserved?: number; charged?: number; price_version?: number | null } | number | null;
  price_version?: number | null;
}

export interface WebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  status?: string;
  mode: Mode;
  created_at: string | number;
  secret?: string;
}

export interface WebhookDelivery {
  id: string;
  mode: Mode;
  webhook_id: string | null;
  event_type: string;
  task_id: string | null;
  endpoint_id: string | null;
  target_host: string | null;
  status: 'pending' | 'delivered' | 'failed' | 'cancelled';
  attempt_count: number;
  last_status_code: number | null;
  next_attempt_at: string | number | null;
  created_at: string | number | null;
  completed_at: string | number | null;
  attempts?: { attempt: number; attempted_at: string | null; target_host: string | null; status_code: number | null; duration_ms: number | null; error: string | null }[];
}

export interface LedgerEntry {
  id: string;
  mode: Mode;
  kind: string;
  amount: number;
  reason: string | null;
  reference: string | null;
  ref_type?: string | null;
  ref_id?: string | null;
  task_id?: string | null;
  balance_after?: number | null;
  created_at: string | number;
}

/** The ledger answer: a cursor list (`data`) — or the operator-style `entries` — plus the balance when sent. */
export interface LedgerPage extends Partial<Balance> {
  data?: LedgerEntry[];
  entries?: LedgerEntry[];
  has_more: boolean;
}

export interface ModelPricing {
  unit: string;
  credits?: number;
  credits_by?: Record<string, number>;
  input_credits_per_million?: number;
  output_credits_per_million?: number;
  list_price?: { amount: number; currency: string; unit: string; amount_by?: Record<string, number> } | null;
}

export interface ModelView {
  id: string;
  type: string;
  category?: string | null;
  name?: string | null;
  capabilities?: Record<string, unknown> | null;
  pricing: ModelPricing | null;
}

export interface TeamMember {
  id: string;
  email: string;
  role: CustomerRole;
  email_verified: boolean;
  totp_enabled: boolean;
  created_at: string | number;
}

export interface Invitation {
  id: string;
  email: string;
  role: CustomerRole;
  expires_at: string | number;
}

export interface Team {
  members: TeamMember[];
  invitations: Invitation[];
}
