-- The two hot-path functions of SEMANTICS §5.4, owned by modules/wallet and called only from workflows.
-- They are the only SQL that writes tasks, keys and wallets together, always in lock order D6:
-- tasks → reservations → api_keys → wallets → ledger_entries.

-- One round trip: claim the idempotency key (I5), take the key's concurrency slot (R5), reserve the hold (M2)
-- and insert the task and its reservation. Any raised error rolls everything back, so a rejection stores nothing (I8).
CREATE FUNCTION gr_create_task(
  p_id text, p_customer text, p_mode text, p_key text, p_max_concurrency integer,
  p_idem text, p_fp text, p_cost bigint, p_now timestamptz, p_expires timestamptz, p_deadline timestamptz,
  p_type text, p_model text, p_request jsonb, p_reservation_id text,
  p_status text DEFAULT 'queued', p_lease_owner text DEFAULT NULL, p_lease_until timestamptz DEFAULT NULL,
  p_face text DEFAULT 'native', p_callback_url text DEFAULT NULL, p_metadata jsonb DEFAULT NULL
) RETURNS TABLE (task_id text, outcome text) LANGUAGE plpgsql AS $$
DECLARE
  v_wallet text;
  v_same boolean;
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
  ON CONFLICT (customer_id, idempotency_key) DO NOTHING;    -- waits for a concurrent twin to commit or abort
  IF NOT FOUND THEN
    SELECT t.id, (t.fingerprint = p_fp AND t.mode = p_mode) INTO task_id, v_same
      FROM tasks t WHERE t.customer_id = p_customer AND t.idempotency_key = p_idem;
    outcome := CASE WHEN v_same THEN 'replay' ELSE 'conflict' END;
    RETURN NEXT;
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

  task_id := p_id;
  outcome := 'created';
  RETURN NEXT;
END $$;

-- Settle or release one hold exactly once (M3–M5, T8). The guarded UPDATE of reservations alone decides the outcome.
CREATE FUNCTION gr_resolve_hold(
  p_task text, p_outcome text, p_final_status text, p_actual bigint, p_error_code text, p_now timestamptz,
  p_only_if_status text DEFAULT NULL, p_result jsonb DEFAULT NULL
) RETURNS TABLE (outcome text, charged bigint, overage bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_status text;
  v_task tasks%ROWTYPE;
  v_reservation reservations%ROWTYPE;
BEGIN
  IF NOT ((p_outcome = 'settled' AND p_final_status = 'succeeded')
       OR (p_outcome = 'released' AND p_final_status IN ('failed', 'cancelled', 'expired'))) THEN
    RAISE EXCEPTION 'invalid resolution % → %', p_outcome, p_final_status USING ERRCODE = '22023';
  END IF;

  SELECT * INTO v_task FROM tasks t WHERE t.id = p_task FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'not_found'; charged := 0; overage := 0; RETURN NEXT; RETURN;
  END IF;
  v_status := v_task.status;
  IF p_only_if_status IS NOT NULL AND v_status <> p_only_if_status THEN
    outcome := 'skipped'; charged := 0; overage := 0; RETURN NEXT; RETURN;
  END IF;

  UPDATE reservations r
     SET status = p_outcome,
         settled_amount = CASE WHEN p_outcome = 'settled' THEN LEAST(GREATEST(p_actual, 0), r.amount) END,
         resolved_at = p_now
   WHERE r.task_id = p_task AND r.status = 'held'
  RETURNING * INTO v_reservation;
  IF NOT FOUND THEN
    outcome := 'already_resolved'; charged := 0; overage := 0; RETURN NEXT; RETURN;
  END IF;

  UPDATE api_keys SET inflight = inflight - 1 WHERE id = v_reservation.api_key_id;
  UPDATE wallets
     SET balance = balance - COALESCE(v_reservation.settled_amount, 0),
         reserved = reserved - v_reservation.amount,
         updated_at = p_now
   WHERE id = v_reservation.wallet_id;
  IF COALESCE(v_reservation.settled_amount, 0) > 0 THEN
    INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, created_at)
    VALUES (v_reservation.wallet_id, 'charge', -v_reservation.settled_amount, 'reservation', v_reservation.id, p_now);
  END IF;

  UPDATE tasks
     SET status = p_final_status,
         charged = COALESCE(v_reservation.settled_amount, 0),
         error_code = CASE WHEN p_outcome = 'released' THEN p_error_code END,
         result = CASE WHEN p_outcome = 'settled' THEN p_result END,
         progress = CASE WHEN p_outcome = 'settled' THEN 100 ELSE progress END,
         lease_owner = NULL, lease_until = NULL, next_action_at = NULL,
         completed_at = p_now, updated_at = p_now
   WHERE id = p_task;

  -- H7: the webhook outbox rows are written with the terminal transition. Bodies are rendered from the (now
  -- immutable) task on the first attempt and stored, so every attempt sends the same bytes.
  IF v_task.callback_url IS NOT NULL THEN
    INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status,
                                    next_attempt_at, created_at)
    VALUES ('whd_' || p_task, v_task.customer_id, v_task.mode, p_task, NULL, v_task.callback_url,
            'task.' || p_final_status, 'pending', p_now, p_now)
    ON CONFLICT (id) DO NOTHING;
  END IF;
  INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status,
                                  next_attempt_at, created_at)
  SELECT 'whd_' || p_task || '_' || e.id, e.customer_id, e.mode, p_task, e.id, e.url, 'task.' || p_final_status,
         'pending', p_now, p_now
    FROM webhook_endpoints e
   WHERE e.customer_id = v_task.customer_id AND e.mode = v_task.mode AND e.status = 'enabled'
     AND (cardinality(e.events) = 0 OR ('task.' || p_final_status) = ANY (e.events))
  ON CONFLICT (id) DO NOTHING;

  outcome := p_outcome;
  charged := COALESCE(v_reservation.settled_amount, 0);
  overage := GREATEST(COALESCE(p_actual, 0) - v_reservation.amount, 0);
  RETURN NEXT;
END $$;
