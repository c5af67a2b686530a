-- Issue 10: the catalogue run from the operator API. Prices are versioned (model_prices); a task records the version
-- and the customer's group percent it was reserved under, and is settled with them (SEMANTICS M9, M10). Customer
-- groups carry a price percent; every customer belongs to an existing group.

ALTER TABLE models ADD COLUMN description text;

-- One row per price change. The version in force at time t is the one with the latest effective_at <= t (the higher
-- version on a tie). Rows are never changed: a new price is a new version. models.pricing keeps the newest
-- version's rule for readers of the row; charges read this table through the task's price_version.
CREATE TABLE model_prices (
  model_id     text COLLATE "C" NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  version      integer NOT NULL CHECK (version >= 1),
  pricing      jsonb NOT NULL,
  effective_at timestamptz NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (model_id, version)
);

INSERT INTO model_prices (model_id, version, pricing, effective_at, created_at)
SELECT id, 1, pricing, created_at, created_at FROM models WHERE pricing <> '{}'::jsonb;

-- Customer groups: the group picks the customer's channels (channels.group_name) and its prices.
-- price_percent 100 = the catalogue price, 80 = 20 % off; each unit price becomes ceil(unit × percent / 100).
CREATE TABLE customer_groups (
  id            text PRIMARY KEY,                      -- same type and collation as customers.group_name
  name          text NOT NULL,
  price_percent integer NOT NULL CHECK (price_percent BETWEEN 1 AND 1000),
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);

INSERT INTO customer_groups (id, name, price_percent, created_at, updated_at)
SELECT g, CASE WHEN g = 'default' THEN 'Default' ELSE g END, 100, now(), now()
  FROM (SELECT 'default' AS g UNION SELECT group_name FROM customers UNION SELECT group_name FROM channels) AS existing;

ALTER TABLE customers ADD CONSTRAINT customers_group_fk FOREIGN KEY (group_name) REFERENCES customer_groups (id);

-- The price a task was reserved under; null for tasks created before this migration (settled at the current price).
ALTER TABLE tasks ADD COLUMN price_version integer;
ALTER TABLE tasks ADD COLUMN price_percent integer CHECK (price_percent IS NULL OR price_percent BETWEEN 1 AND 1000);

-- gr_create_task (0008) gains the price version and percent, stored on the task in the same statement.
DROP FUNCTION gr_create_task(text, text, text, text, integer, text, text, bigint, timestamptz, timestamptz, timestamptz,
                             text, text, jsonb, text, text, text, timestamptz, text, text, jsonb);

CREATE FUNCTION gr_create_task(
  p_id text, p_customer text, p_mode text, p_key text, p_max_concurrency integer,
  p_idem text, p_fp text, p_cost bigint, p_now timestamptz, p_expires timestamptz, p_deadline timestamptz,
  p_type text, p_model text, p_request jsonb, p_reservation_id text,
  p_status text DEFAULT 'queued', p_lease_owner text DEFAULT NULL, p_lease_until timestamptz DEFAULT NULL,
  p_face text DEFAULT 'native', p_callback_url text DEFAULT NULL, p_metadata jsonb DEFAULT NULL,
  p_price_version integer DEFAULT NULL, p_price_percent integer DEFAULT NULL
) RETURNS SETOF tasks LANGUAGE plpgsql AS $$
DECLARE
  v_wallet text;
  v_task tasks%ROWTYPE;
BEGIN
  IF p_cost < 0 THEN
    RAISE EXCEPTION 'hold must not be negative' USING ERRCODE = '22023';
  END IF;
  INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, idempotency_key, fingerprint, face,
                     request, callback_url, metadata, hold_amount, lease_owner, lease_until, attempts, next_action_at,
                     created_at, updated_at, price_version, price_percent)
  VALUES (p_id, p_customer, p_mode, p_key, p_type, p_model, p_status, p_idem, p_fp, p_face,
          p_request, p_callback_url, p_metadata, p_cost, p_lease_owner, p_lease_until,
          CASE WHEN p_lease_owner IS NULL THEN 0 ELSE 1 END,
          CASE WHEN p_status = 'queued' THEN p_now ELSE p_lease_until END, p_now, p_now, p_price_version, p_price_percent)
  ON CONFLICT (customer_id, idempotency_key) DO NOTHING    -- waits for a concurrent twin to commit or abort
  RETURNING * INTO v_task;
  IF NOT FOUND THEN
    RETURN QUERY SELECT * FROM tasks t WHERE t.customer_id = p_customer AND t.idempotency_key = p_idem;
    RETURN;
  END IF;

  UPDATE api_keys SET inflight = inflight + 1
   WHERE id = p_key AND (p_max_concurrency IS NULL OR inflight < p_max_concurrency);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'concurrency_limited' USING ERRCODE = 'GR429';
  END IF;

  UPDATE wallets SET reserved = reserved + p_cost, updated_at = p_now
   WHERE customer_id = p_customer AND mode = p_mode AND balance - reserved >= p_cost
  RETURNING id INTO v_wallet;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'insufficient_credits' USING ERRCODE = 'GR402';
  END IF;

  INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, expires_at, hard_deadline, created_at)
  VALUES (p_reservation_id, p_id, v_wallet, p_key, p_cost, 'held', p_expires, p_deadline, p_now);

  RETURN NEXT v_task;
END $$;
