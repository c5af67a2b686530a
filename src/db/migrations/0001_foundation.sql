-- Foundation: customers, API keys, wallets, the append-only ledger, reservations, tasks and audit events.
-- Rule ids (K*, L*, M*, D*) refer to docs/SEMANTICS.md.

CREATE TABLE system_state (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE customers (
  id          text COLLATE "C" PRIMARY KEY,
  name        text NOT NULL,
  email       text,
  status      text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  group_name  text NOT NULL DEFAULT 'default',
  -- plan: default limits for the customer's keys (K12): rate_limit_rpm, max_concurrency, allowed_models
  plan        jsonb NOT NULL DEFAULT '{}'::jsonb,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE UNIQUE INDEX customers_email_key ON customers (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE api_keys (
  id              text COLLATE "C" PRIMARY KEY,
  customer_id     text NOT NULL REFERENCES customers (id),
  name            text NOT NULL,
  mode            text NOT NULL CHECK (mode IN ('live', 'test')),
  key_hash        text NOT NULL,                       -- hex sha256 of the whole key (K2)
  key_prefix      text NOT NULL,                       -- display prefix only
  scopes          text[] NOT NULL DEFAULT '{}',
  allowed_models  text[],                              -- null = the plan's list
  ip_allowlist    text[] NOT NULL DEFAULT '{}',
  rate_limit_rpm  integer CHECK (rate_limit_rpm > 0),
  max_concurrency integer CHECK (max_concurrency > 0),
  inflight        integer NOT NULL DEFAULT 0,
  expires_at      timestamptz,
  revoked_at      timestamptz,
  last_used_at    timestamptz,
  rotated_from    text REFERENCES api_keys (id),
  created_by      text NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  CONSTRAINT inflight_nonneg CHECK (inflight >= 0)
);
CREATE UNIQUE INDEX api_keys_key_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_customer_idx ON api_keys (customer_id, id);

CREATE TABLE wallets (
  id          text COLLATE "C" PRIMARY KEY,
  customer_id text NOT NULL REFERENCES customers (id),
  mode        text NOT NULL CHECK (mode IN ('live', 'test')),
  balance     bigint NOT NULL DEFAULT 0,
  reserved    bigint NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL,
  UNIQUE (customer_id, mode),
  CONSTRAINT reserved_nonneg CHECK (reserved >= 0),
  CONSTRAINT reserved_le_balance CHECK (reserved <= balance)
);

CREATE TABLE audit_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  actor       text NOT NULL,
  action      text NOT NULL,
  target_type text NOT NULL,
  target_id   text NOT NULL,
  ip          text,
  user_agent  text,
  before      jsonb,
  after       jsonb,
  created_at  timestamptz NOT NULL
);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id, id);

CREATE TABLE ledger_entries (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  wallet_id  text NOT NULL REFERENCES wallets (id),
  kind       text NOT NULL CHECK (kind IN ('topup', 'charge', 'grant', 'adjustment', 'refund')),
  amount     bigint NOT NULL CHECK (amount <> 0),
  ref_type   text NOT NULL,
  ref_id     text NOT NULL,
  reason     text,
  audit_id   bigint REFERENCES audit_events (id),
  created_at timestamptz NOT NULL,
  UNIQUE (ref_type, ref_id, kind)
);
CREATE INDEX ledger_entries_wallet_idx ON ledger_entries (wallet_id, id);

-- L7 / K13: the ledger and the audit log are append-only.
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'GR001';
END $$;
CREATE TRIGGER ledger_no_change BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();

-- Tasks ship with the wallet (SEMANTICS §5.1) so holds are raced on real task rows; the task engine adds columns.
CREATE TABLE tasks (
  id              text COLLATE "C" PRIMARY KEY,
  customer_id     text NOT NULL REFERENCES customers (id),
  mode            text NOT NULL CHECK (mode IN ('live', 'test')),
  api_key_id      text NOT NULL REFERENCES api_keys (id),
  type            text NOT NULL,
  model           text NOT NULL,
  status          text NOT NULL CHECK (status IN
                    ('queued', 'dispatching', 'submitted', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
  idempotency_key text,
  fingerprint     text,
  face            text NOT NULL DEFAULT 'native',     -- the API face that created it: webhook bodies use its shape
  request         jsonb NOT NULL DEFAULT '{}'::jsonb,
  callback_url    text,
  metadata        jsonb,
  progress        integer NOT NULL DEFAULT 0,
  result          jsonb,
  channel_id      text,                               -- upstream details: operator API only (E3)
  provider        text,
  provider_task_id text,
  operation       jsonb,
  upstream_error  jsonb,
  submitted_at    timestamptz,
  hold_amount     bigint NOT NULL CHECK (hold_amount >= 0),
  charged         bigint NOT NULL DEFAULT 0 CHECK (charged >= 0),
  error_code      text,
  lease_owner     text,
  lease_until     timestamptz,
  attempts        integer NOT NULL DEFAULT 0,
  next_action_at  timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  completed_at    timestamptz,
  UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX tasks_customer_idx ON tasks (customer_id, mode, id);
CREATE INDEX tasks_due_idx ON tasks (next_action_at) WHERE status IN ('queued', 'dispatching', 'submitted', 'running');

CREATE TABLE reservations (
  id             text PRIMARY KEY,
  task_id        text NOT NULL UNIQUE REFERENCES tasks (id),
  wallet_id      text NOT NULL REFERENCES wallets (id),
  api_key_id     text NOT NULL REFERENCES api_keys (id),
  amount         bigint NOT NULL,
  status         text NOT NULL CHECK (status IN ('held', 'settled', 'released')),
  settled_amount bigint,
  expires_at     timestamptz NOT NULL,
  hard_deadline  timestamptz NOT NULL,
  created_at     timestamptz NOT NULL,
  resolved_at    timestamptz,
  CONSTRAINT amount_nonneg CHECK (amount >= 0),
  CONSTRAINT settled_iff_amount CHECK ((status = 'settled') = (settled_amount IS NOT NULL)),
  CONSTRAINT settled_within_hold CHECK (settled_amount BETWEEN 0 AND amount),
  CONSTRAINT held_iff_unresolved CHECK ((status = 'held') = (resolved_at IS NULL))
);
CREATE INDEX reservations_held_idx ON reservations (expires_at) WHERE status = 'held';
