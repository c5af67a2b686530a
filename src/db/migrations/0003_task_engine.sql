-- The task engine: the model catalog, durable files, customer webhook secrets, endpoints and the delivery outbox.

CREATE TABLE models (
  id           text COLLATE "C" PRIMARY KEY,          -- public model id, e.g. seedance-2.0-fast
  type         text NOT NULL CHECK (type IN ('video', 'image', 'music', 'chat', 'embedding')),
  category     text NOT NULL,
  display_name text NOT NULL,
  capabilities jsonb NOT NULL DEFAULT '{}'::jsonb,    -- limits: durations, resolutions, ratios, reference counts
  pricing      jsonb NOT NULL DEFAULT '{}'::jsonb,    -- integer credits per unit (SEMANTICS M1)
  list_price   jsonb,                                 -- optional official price, informational
  enabled      boolean NOT NULL DEFAULT true,
  sort_order   integer NOT NULL DEFAULT 0,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL
);

CREATE TABLE files (
  id               text COLLATE "C" PRIMARY KEY,
  customer_id      text NOT NULL REFERENCES customers (id),
  mode             text NOT NULL CHECK (mode IN ('live', 'test')),
  task_id          text REFERENCES tasks (id),
  purpose          text NOT NULL CHECK (purpose IN ('result', 'reference')),
  content_type     text NOT NULL,
  size_bytes       bigint NOT NULL CHECK (size_bytes >= 0),
  sha256           text NOT NULL,
  width            integer,
  height           integer,
  duration_seconds double precision,
  storage_key      text NOT NULL,
  created_at       timestamptz NOT NULL,
  deleted_at       timestamptz
);
CREATE INDEX files_task_idx ON files (task_id);
CREATE INDEX files_unreferenced_idx ON files (created_at) WHERE task_id IS NULL AND deleted_at IS NULL;

-- One callback signing secret per customer and mode (H3); the previous one keeps signing for 24 h after a rotation.
CREATE TABLE webhook_secrets (
  customer_id         text NOT NULL REFERENCES customers (id),
  mode                text NOT NULL CHECK (mode IN ('live', 'test')),
  secret_encrypted    text NOT NULL,
  previous_encrypted  text,
  previous_valid_until timestamptz,
  created_at          timestamptz NOT NULL,
  rotated_at          timestamptz,
  PRIMARY KEY (customer_id, mode)
);

CREATE TABLE webhook_endpoints (
  id                  text COLLATE "C" PRIMARY KEY,
  customer_id         text NOT NULL REFERENCES customers (id),
  mode                text NOT NULL CHECK (mode IN ('live', 'test')),
  url                 text NOT NULL,
  description         text,
  events              text[] NOT NULL DEFAULT '{}',
  status              text NOT NULL DEFAULT 'enabled' CHECK (status IN ('enabled', 'disabled', 'deleted')),
  disabled_reason     text,
  secret_encrypted    text NOT NULL,
  previous_encrypted  text,
  previous_valid_until timestamptz,
  idempotency_key     text,
  fingerprint         text,
  last_success_at     timestamptz,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  UNIQUE (customer_id, idempotency_key)
);

CREATE TABLE webhook_deliveries (
  id              text COLLATE "C" PRIMARY KEY,       -- whd_<task>[_<endpoint>]: one per target and terminal event
  message_id      text UNIQUE,                        -- webhook-id, stable across retries (H1); set on first attempt
  customer_id     text NOT NULL REFERENCES customers (id),
  mode            text NOT NULL,
  task_id         text REFERENCES tasks (id),
  endpoint_id     text REFERENCES webhook_endpoints (id),
  url             text NOT NULL,
  event_type      text NOT NULL,
  body            text,                               -- serialized once, on the first attempt (H5)
  status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  last_status     integer,
  last_error      text,
  created_at      timestamptz NOT NULL,
  completed_at    timestamptz
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_task_idx ON webhook_deliveries (task_id);

CREATE TABLE webhook_attempts (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id    text NOT NULL REFERENCES webhook_deliveries (id),
  attempt        integer NOT NULL,
  attempted_at   timestamptz NOT NULL,
  response_status integer,
  error          text,
  duration_ms    integer NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);

CREATE INDEX tasks_poll_idx ON tasks (status, next_action_at);
CREATE INDEX tasks_idempotency_age_idx ON tasks (created_at) WHERE idempotency_key IS NOT NULL;
