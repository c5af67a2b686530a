-- Upstream routing (API.md §8): channels map public models to an upstream, grouped and prioritised; each channel
-- holds a pool of credentials, encrypted at rest, that cool down and get disabled on their own.

CREATE TABLE channels (
  id                   text COLLATE "C" PRIMARY KEY,
  name                 text NOT NULL,
  provider             text NOT NULL,
  base_url             text NOT NULL,
  models               jsonb NOT NULL DEFAULT '{}'::jsonb,   -- public model id → upstream model id
  group_name           text NOT NULL DEFAULT 'default',
  priority             integer NOT NULL DEFAULT 0,
  weight               integer NOT NULL DEFAULT 1 CHECK (weight >= 1),
  enabled              boolean NOT NULL DEFAULT true,
  retry                jsonb NOT NULL DEFAULT '{}'::jsonb,   -- {attempts, failover_on: [error classes]}
  settings             jsonb NOT NULL DEFAULT '{}'::jsonb,
  consecutive_failures integer NOT NULL DEFAULT 0,
  open_until           timestamptz,                          -- circuit open: out of rotation until then
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL
);

CREATE TABLE upstream_credentials (
  id                   text COLLATE "C" PRIMARY KEY,
  channel_id           text NOT NULL REFERENCES channels (id),
  label                text,
  credential_encrypted text NOT NULL,
  status               text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  cooldown_until       timestamptz,
  disabled_reason      text,
  remaining_balance    text,
  last_used_at         timestamptz,
  uses                 bigint NOT NULL DEFAULT 0,
  created_at           timestamptz NOT NULL,
  updated_at           timestamptz NOT NULL
);
CREATE INDEX upstream_credentials_channel_idx ON upstream_credentials (channel_id);

ALTER TABLE tasks ADD COLUMN credential_id text;
ALTER TABLE tasks ADD COLUMN tried_channels text[] NOT NULL DEFAULT '{}';
CREATE INDEX tasks_provider_task_idx ON tasks (channel_id, provider_task_id);
