-- Issue 9: gr_create_task returns the row that owns the idempotency key — the one it inserted, or the existing one
-- of a replay or a conflict — so the caller never rebuilds the task in code or reads it again. The caller tells the
-- cases apart: its own id → created; another row with the same fingerprint and mode → replay; otherwise conflict.
DROP FUNCTION gr_create_task(text, text, text, text, integer, text, text, bigint, timestamptz, timestamptz, timestamptz,
                             text, text, jsonb, text, text, text, timestamptz, text, text, jsonb);

CREATE FUNCTION gr_create_task(
  p_id text, p_customer text, p_mode text, p_key text, p_max_concurrency integer,
  p_idem text, p_fp text, p_cost bigint, p_now timestamptz, p_expires timestamptz, p_deadline timestamptz,
  p_type text, p_model text, p_request jsonb, p_reservation_id text,
  p_status text DEFAULT 'queued', p_lease_owner text DEFAULT NULL, p_lease_until timestamptz DEFAULT NULL,
  p_face text DEFAULT 'native', p_callback_url text DEFAULT NULL, p_metadata jsonb DEFAULT NULL
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
                     created_at, updated_at)
  VALUES (p_id, p_customer, p_mode, p_key, p_type, p_model, p_status, p_idem, p_fp, p_face,
          p_request, p_callback_url, p_metadata, p_cost, p_lease_owner, p_lease_until,
          CASE WHEN p_lease_owner IS NULL THEN 0 ELSE 1 END,
          CASE WHEN p_status = 'queued' THEN p_now ELSE p_lease_until END, p_now, p_now)
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
