-- Fair webhook delivery (issue 8). A delivery in flight carries a short lease (owner, fencing token, expiry) that
-- its sender renews while the POST runs, so a dead process's claims come back within seconds. Every delivery has a
-- target: a registered endpoint, or for a task's callback_url the customer's receiving server (scheme://host:port;
-- paths and queries of callback URLs usually name the task). Concurrency is capped per target and per customer in
-- the claim, and a target that keeps failing is blocked for a while (webhook_targets).
ALTER TABLE webhook_deliveries
  ADD COLUMN lease_owner text,                        -- worker id of the sender holding the claim
  ADD COLUMN lease_token text,                        -- fences the claim: only its holder records or renews it
  ADD COLUMN lease_until timestamptz,                 -- renewed by the holder's heartbeat; once past, reclaimable
  ADD COLUMN target_key  text GENERATED ALWAYS AS (
    CASE WHEN endpoint_id IS NOT NULL THEN 'we:' || endpoint_id
         ELSE 'cb:' || customer_id || ':' || lower(COALESCE(substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*'), url))
    END) STORED;

CREATE INDEX webhook_deliveries_target_due_idx ON webhook_deliveries (target_key, next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_leased_idx ON webhook_deliveries (lease_until) WHERE status = 'pending' AND lease_until IS NOT NULL;

-- Targets whose last attempts failed. A success deletes the row; after enough consecutive failures the target is
-- blocked until blocked_until, then probed with one delivery at a time.
CREATE TABLE webhook_targets (
  target_key           text COLLATE "C" PRIMARY KEY,
  consecutive_failures integer NOT NULL,
  blocked_until        timestamptz,
  updated_at           timestamptz NOT NULL
);
