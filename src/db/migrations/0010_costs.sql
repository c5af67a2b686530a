-- Costs and margins (issue 10). A channel records what each public model it serves costs upstream (`costs`, the
-- same rule shapes as catalogue pricing, in credits). Each task records that cost beside `charged` when it resolves:
-- `cost_credits` is NULL while open and when the route had no cost for the model (test-key sandbox tasks too), and 0
-- for released tasks. The cost is computed by the caller from the same usage facts as the charge and stored by
-- gr_resolve_hold in the settling statement.
ALTER TABLE channels ADD COLUMN costs jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE tasks ADD COLUMN cost_credits bigint;
ALTER TABLE tasks ADD CONSTRAINT tasks_cost_credits_range CHECK (cost_credits IS NULL OR cost_credits BETWEEN 0 AND 9007199254740991);
-- The usage reports read tasks by creation time.
CREATE INDEX tasks_created_at_idx ON tasks (created_at);

-- gr_resolve_hold (0002) gains p_cost: the upstream cost of a settled task (NULL = unknown). Every other step is
-- unchanged; a release stores 0, and a cost is clamped to [0, 2^53−1] so it can never make a settlement fail.
DROP FUNCTION gr_resolve_hold(text, text, text, bigint, text, timestamptz, text, jsonb);

CREATE FUNCTION gr_resolve_hold(
  p_task text, p_outcome text, p_final_status text, p_actual bigint, p_error_code text, p_now timestamptz,
  p_only_if_status text DEFAULT NULL, p_result jsonb DEFAULT NULL, p_cost bigint DEFAULT NULL
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
         cost_credits = CASE WHEN p_outcome = 'released' THEN 0 WHEN p_cost IS NOT NULL THEN LEAST(GREATEST(p_cost, 0), 9007199254740991) END,
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
