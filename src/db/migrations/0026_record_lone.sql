-- A lone finished text request recorded in plain statements (issue 14). gr_record_group (0024) writes a group with
-- set statements over the items' array: one write CTE of seven parts, whose executor start and end, and the jsonb maps
-- of wallets and leases it builds first, are most of what a group of one costs. A group of one is what every request
-- writes at one connection, and whenever requests end apart from each other. Measured with
-- `npm run bench:billing -- 1500 1 1` (PostgreSQL backend CPU per request, alternating): 0.62–0.64 ms against
-- 0.84–0.98 ms; wall time per request 1.08–1.11 against 1.30–1.51 ms.
--
-- gr_record_group keeps its name and its answer; a group of two or more goes to 0024's function, renamed (a rename
-- keeps its planner settings). The lone path decides exactly what the group path decides for one item: the same
-- checks and errors in the same order, the same locks in the same order (D6: the key share-locked, the wallet, the
-- lease), a task id already written answers `already_resolved` with the lease's amount, a lease pays only for its own
-- wallet, the rest of a charge comes from free credit and never below it, the same rows (test/integration/record-lone.test.ts
-- records the same requests both ways and compares every row). Its statements are key lookups, planned as such on
-- any statistics; it runs without the group function's settings (each SET clause is work on every call).
ALTER FUNCTION gr_record_group(jsonb) RENAME TO gr_record_many;

CREATE FUNCTION gr_record_group(p_items jsonb)
RETURNS TABLE (item integer, outcome text, charged bigint, overage bigint, from_lease bigint, lease_left bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r gr_record_item;
  v_wallet text;
  v_free bigint;
  v_lease_id text;
  v_lease_wallet text;
  v_amount bigint;
  v_l bigint;
  v_settled bigint;
  v_take_l bigint;
  v_take_f bigint;
BEGIN
  IF p_items IS NULL OR jsonb_array_length(p_items) <> 1 THEN
    RETURN QUERY SELECT * FROM gr_record_many(p_items);
    RETURN;
  END IF;
  r := jsonb_populate_record(NULL::gr_record_item, p_items -> 0);
  IF NOT COALESCE((r.outcome = 'settled' AND r.final_status = 'succeeded')
                  OR (r.outcome = 'released' AND r.final_status IN ('failed', 'cancelled', 'expired')), false) THEN
    RAISE EXCEPTION 'invalid resolution in a record group' USING ERRCODE = '22023';
  END IF;
  IF NOT COALESCE(r.hold >= 0, false) THEN RAISE EXCEPTION 'hold must not be negative' USING ERRCODE = '22023'; END IF;
  PERFORM 1 FROM api_keys k WHERE k.id = r.key FOR KEY SHARE;
  SELECT w.id, w.balance - w.reserved INTO v_wallet, v_free FROM wallets w WHERE w.customer_id = r.customer AND w.mode = r.mode FOR UPDATE;
  IF NOT FOUND THEN RAISE EXCEPTION 'no wallet for %|%', r.customer, r.mode USING ERRCODE = '22023'; END IF;
  SELECT l.id, l.amount, l.wallet_id INTO v_lease_id, v_amount, v_lease_wallet FROM credit_leases l WHERE l.id = r.lease FOR UPDATE;
  v_l := CASE WHEN v_lease_wallet = v_wallet THEN v_amount ELSE 0 END;
  item := 1;
  IF EXISTS (SELECT 1 FROM tasks t WHERE t.id = r.id) THEN
    outcome := 'already_resolved'; charged := 0; overage := 0; from_lease := 0; lease_left := v_amount;
    RETURN NEXT; RETURN;
  END IF;
  v_settled := CASE WHEN r.outcome = 'settled' THEN LEAST(GREATEST(COALESCE(r.actual, 0), 0), r.hold) ELSE 0 END;
  v_take_l := LEAST(v_settled, v_l);
  v_take_f := LEAST(v_settled - v_take_l, GREATEST(v_free, 0));
  INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, face, request, hold_amount, charged,
                     cost_credits, error_code, progress, provider, channel_id, credential_id, tried_channels,
                     attempts, created_at, updated_at, completed_at, price_version, price_percent)
  VALUES (r.id, r.customer, r.mode, r.key, r.type, r.model, r.final_status, 'native', COALESCE(r.request, '{}'::jsonb),
          r.hold, v_take_l + v_take_f,
          CASE WHEN r.outcome = 'released' THEN 0 WHEN r.cost IS NOT NULL THEN LEAST(GREATEST(r.cost, 0), 9007199254740991) END,
          CASE WHEN r.outcome = 'released' THEN r.error_code END,
          CASE WHEN r.outcome = 'settled' THEN 100 ELSE 0 END,
          r.route_provider, r.route_channel, r.route_credential, COALESCE(r.route_tried, '{}'),
          1, r.created, r.now, r.now, r.price_version, r.price_percent);
  INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, settled_amount, expires_at,
                            hard_deadline, created_at, resolved_at, lease_id)
  VALUES (r.reservation_id, r.id, v_wallet, r.key, r.hold, r.outcome,
          CASE WHEN r.outcome = 'settled' THEN v_take_l + v_take_f END, r.expires, r.deadline, r.created, r.now, r.lease);
  IF v_take_l + v_take_f > 0 THEN
    INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, created_at)
    VALUES (v_wallet, 'charge', -(v_take_l + v_take_f), 'reservation', r.reservation_id, r.now);
    UPDATE wallets w SET balance = w.balance - (v_take_l + v_take_f), reserved = w.reserved - v_take_l, updated_at = r.now
     WHERE w.id = v_wallet;
  END IF;
  INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status, next_attempt_at, created_at)
  SELECT 'whd_' || r.id || '_' || w.id, w.customer_id, w.mode, r.id, w.id, w.url, 'task.' || r.final_status, 'pending', r.now, r.now
    FROM webhook_endpoints w
   WHERE w.customer_id = r.customer AND w.mode = r.mode AND w.status = 'enabled'
     AND (cardinality(w.events) = 0 OR ('task.' || r.final_status) = ANY (w.events))
   ORDER BY w.id
  ON CONFLICT (id) DO NOTHING;
  IF v_take_l > 0 THEN
    UPDATE credit_leases cl SET amount = cl.amount - v_take_l, updated_at = r.now WHERE cl.id = v_lease_id;
  END IF;
  outcome := r.outcome; charged := v_take_l + v_take_f; overage := GREATEST(COALESCE(r.actual, 0) - r.hold, 0);
  from_lease := v_take_l; lease_left := v_amount - v_take_l;
  RETURN NEXT;
END $$;
