-- Record groups without joins of their own items (issue 14). gr_record_many (0024, renamed in 0026) built the rows it
-- writes by joining four unnest() calls of the group's arrays on their ordinality, and joined the task insert's
-- RETURNING again for the reservation, charge and webhook rows. The group functions are planned without hash and
-- merge joins (0021), so each of those joins was a nested loop over the group: about 3 × n² + 3 × n² row pairs for a
-- group of n, a sixth of the function's work in groups of 25 on the embedded engine. Now the arrays are read in one
-- pass (unnest of several arrays zips them, WITH ORDINALITY numbering the rows as before), and the reservation, charge
-- and webhook rows are written from that set directly: every row of it is inserted as a task or the statement fails,
-- and no foreign key orders these inserts since 0028, so the join on the task insert's RETURNING selected the same
-- rows. Nothing else changes: the same checks, locks (D6), charges, rows and answers.
--
-- Measured with `npm run bench:billing -- 300 N 2 …` (CPU per request admitted on a lease, alternating with 0024's
-- body twice): embedded, groups of 25: 0.098–0.112 against 0.117–0.121 ms (wall 0.090–0.099 against 0.105–0.114);
-- PostgreSQL, groups of 16: 0.056–0.058 against 0.065–0.071 ms.
CREATE OR REPLACE FUNCTION gr_record_many(p_items jsonb)
RETURNS TABLE (item integer, outcome text, charged bigint, overage bigint, from_lease bigint, lease_left bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_items gr_record_item[];
  v_wallet jsonb := '{}';    -- customer|mode → wallet id
  v_free jsonb := '{}';      -- customer|mode → balance − reserved
  v_lease jsonb := '{}';     -- lease id → amount (leases that exist, of the item's wallet)
  v_lease_wallet jsonb := '{}';
  v_done text[];
  v_charge bigint[];
  v_from bigint[];
  v_write boolean[];
  r gr_record_item;
  rw record;
  rl record;
  v_key text;
  v_settled bigint;
  v_l bigint;
  v_f bigint;
  v_take_l bigint;
  v_take_f bigint;
  v_valid boolean;
  v_holds boolean;
BEGIN
  -- The items, and whether every one is a valid resolution with a hold (checked in the same pass).
  SELECT array_agg(x ORDER BY e.n),
         bool_and(COALESCE((x.outcome = 'settled' AND x.final_status = 'succeeded')
                        OR (x.outcome = 'released' AND x.final_status IN ('failed', 'cancelled', 'expired')), false)),
         bool_and(COALESCE(x.hold >= 0, false))
    INTO v_items, v_valid, v_holds
    FROM jsonb_array_elements(p_items) WITH ORDINALITY e(value, n),
         LATERAL jsonb_populate_record(NULL::gr_record_item, e.value) x;
  IF v_items IS NULL THEN RETURN; END IF;
  IF NOT v_valid THEN RAISE EXCEPTION 'invalid resolution in a record group' USING ERRCODE = '22023'; END IF;
  IF NOT v_holds THEN RAISE EXCEPTION 'hold must not be negative' USING ERRCODE = '22023'; END IF;

  -- D6: the keys the new rows reference (their foreign keys share-lock them), then wallets, then leases.
  PERFORM 1 FROM api_keys k WHERE k.id IN (SELECT i.key FROM unnest(v_items) i) ORDER BY k.id FOR KEY SHARE;
  FOR rw IN SELECT w.id, w.customer_id, w.mode, w.balance - w.reserved AS free FROM wallets w
            WHERE (w.customer_id, w.mode) IN (SELECT i.customer, i.mode FROM unnest(v_items) i) ORDER BY w.id FOR UPDATE LOOP
    v_wallet := v_wallet || jsonb_build_object(rw.customer_id || '|' || rw.mode, rw.id);
    v_free := v_free || jsonb_build_object(rw.customer_id || '|' || rw.mode, rw.free);
  END LOOP;
  FOR rl IN SELECT l.id, l.amount, l.wallet_id FROM credit_leases l
            WHERE l.id IN (SELECT i.lease FROM unnest(v_items) i) ORDER BY l.id FOR UPDATE LOOP
    v_lease := v_lease || jsonb_build_object(rl.id, rl.amount);
    v_lease_wallet := v_lease_wallet || jsonb_build_object(rl.id, rl.wallet_id);
  END LOOP;
  SELECT COALESCE(array_agg(t.id), '{}') INTO v_done FROM tasks t WHERE t.id IN (SELECT i.id FROM unnest(v_items) i);

  v_charge := array_fill(0::bigint, ARRAY[cardinality(v_items)]);
  v_from := v_charge;
  v_write := array_fill(false, ARRAY[cardinality(v_items)]);
  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    v_key := r.customer || '|' || r.mode;
    IF NOT (v_wallet ? v_key) THEN
      RAISE EXCEPTION 'no wallet for %', v_key USING ERRCODE = '22023';
    END IF;
    IF r.id = ANY (v_done) THEN CONTINUE; END IF;
    v_done := v_done || r.id;
    v_write[n] := true;
    v_settled := CASE WHEN r.outcome = 'settled' THEN LEAST(GREATEST(COALESCE(r.actual, 0), 0), r.hold) ELSE 0 END;
    IF r.lease IS NOT NULL AND v_lease ? r.lease AND v_lease_wallet ->> r.lease = v_wallet ->> v_key THEN
      v_l := (v_lease ->> r.lease)::bigint;
    ELSE
      v_l := 0;
    END IF;
    v_take_l := LEAST(v_settled, v_l);
    v_f := (v_free ->> v_key)::bigint;
    v_take_f := LEAST(v_settled - v_take_l, GREATEST(v_f, 0));
    IF v_take_l > 0 THEN v_lease := jsonb_set(v_lease, ARRAY[r.lease], to_jsonb(v_l - v_take_l)); END IF;
    IF v_take_f > 0 THEN v_free := jsonb_set(v_free, ARRAY[v_key], to_jsonb(v_f - v_take_f)); END IF;
    v_charge[n] := v_take_l + v_take_f;
    v_from[n] := v_take_l;
  END LOOP;

  WITH a AS (
    SELECT i.*, v_wallet ->> (i.customer || '|' || i.mode) AS wallet_id
      FROM unnest(v_items, v_charge, v_from, v_write) WITH ORDINALITY
           -- gr_record_item's fields, then one column of each other array, then the item's number
           AS i(id, reservation_id, lease, customer, mode, key, type, model, request, hold, actual, outcome,
                final_status, error_code, cost, created, now, expires, deadline, price_version, price_percent,
                route_provider, route_channel, route_credential, route_tried, charge, from_lease, write, ordinality)
     WHERE i.write
  ), t AS (
    INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, face, request, hold_amount, charged,
                       cost_credits, error_code, progress, provider, channel_id, credential_id, tried_channels,
                       attempts, created_at, updated_at, completed_at, price_version, price_percent)
    SELECT a.id, a.customer, a.mode, a.key, a.type, a.model, a.final_status, 'native', COALESCE(a.request, '{}'::jsonb),
           a.hold, a.charge,
           CASE WHEN a.outcome = 'released' THEN 0 WHEN a.cost IS NOT NULL THEN LEAST(GREATEST(a.cost, 0), 9007199254740991) END,
           CASE WHEN a.outcome = 'released' THEN a.error_code END,
           CASE WHEN a.outcome = 'settled' THEN 100 ELSE 0 END,
           a.route_provider, a.route_channel, a.route_credential, COALESCE(a.route_tried, '{}'),
           1, a.created, a.now, a.now, a.price_version, a.price_percent
      FROM a ORDER BY a.ordinality
  ), h AS (
    INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, settled_amount, expires_at,
                              hard_deadline, created_at, resolved_at, lease_id)
    SELECT a.reservation_id, a.id, a.wallet_id, a.key, a.hold, a.outcome,
           CASE WHEN a.outcome = 'settled' THEN a.charge END, a.expires, a.deadline, a.created, a.now, a.lease
      FROM a ORDER BY a.ordinality
  ), l AS (
    INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, created_at)
    SELECT a.wallet_id, 'charge', -a.charge, 'reservation', a.reservation_id, a.now
      FROM a WHERE a.charge > 0 ORDER BY a.ordinality
  ), e AS (
    -- H7: the rows of the customer's webhook endpoints, written with the terminal task (as gr_resolve_group does).
    INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status,
                                    next_attempt_at, created_at)
    SELECT 'whd_' || a.id || '_' || w.id, w.customer_id, w.mode, a.id, w.id, w.url, 'task.' || a.final_status,
           'pending', a.now, a.now
      FROM a
      JOIN webhook_endpoints w ON w.customer_id = a.customer AND w.mode = a.mode AND w.status = 'enabled'
     WHERE cardinality(w.events) = 0 OR ('task.' || a.final_status) = ANY (w.events)
     ORDER BY a.ordinality, w.id
    ON CONFLICT (id) DO NOTHING
  ), ws AS (
    UPDATE wallets w SET balance = w.balance - s.charge, reserved = w.reserved - s.from_lease, updated_at = s.at
      FROM (SELECT a.wallet_id, sum(a.charge) AS charge, sum(a.from_lease) AS from_lease, max(a.now) AS at
              FROM a GROUP BY a.wallet_id) s
     WHERE w.id = s.wallet_id AND (s.charge > 0 OR s.from_lease > 0)
  )
  UPDATE credit_leases cl SET amount = cl.amount - s.from_lease, updated_at = s.at
    FROM (SELECT a.lease, sum(a.from_lease) AS from_lease, max(a.now) AS at FROM a WHERE a.from_lease > 0 GROUP BY a.lease) s
   WHERE cl.id = s.lease;

  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    item := n;
    outcome := CASE WHEN v_write[n] THEN r.outcome ELSE 'already_resolved' END;
    charged := v_charge[n];
    overage := CASE WHEN v_write[n] THEN GREATEST(COALESCE(r.actual, 0) - r.hold, 0) ELSE 0 END;
    from_lease := v_from[n];
    lease_left := CASE WHEN r.lease IS NOT NULL AND v_lease ? r.lease THEN (v_lease ->> r.lease)::bigint END;
    RETURN NEXT;
  END LOOP;
END $$;
ALTER FUNCTION gr_record_many(jsonb) SET enable_seqscan = off SET enable_bitmapscan = off SET enable_hashjoin = off SET enable_mergejoin = off;
ALTER FUNCTION gr_record_many(jsonb) SET plan_cache_mode = force_generic_plan;
