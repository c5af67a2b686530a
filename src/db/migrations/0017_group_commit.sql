-- Group commit (issue 14): many reservations, or many settlements and releases, in one statement and so in one
-- transaction and one WAL flush. The callers (WalletService's GroupCommitter) answer each request only after that
-- statement has committed. Each item is decided exactly as it would be alone, in the order given; an item that is
-- refused (402, 429) writes nothing and does not disturb the others, so no subtransaction is needed.
--
-- The groups are set-based where it matters: a hot wallet (and a hot key) is read once, the items are decided in
-- memory against it, and it is written once per group with the sums — updating one row once per item would grow a
-- chain of row versions inside the transaction that every later item has to walk.
--
-- Lock order D6 holds for the whole group: every row a group will lock is locked first, in id order, table by
-- table (tasks → reservations → api_keys → wallets), so two groups (two processes, or two groups of one process)
-- can wait for each other but never deadlock. A deadlock with some other writer is still detected by PostgreSQL; the
-- caller then runs each item of the group alone. A reservation alone still goes through gr_create_task (0009), which
-- decides one item with a few guarded statements and is cheaper than the group's set-based path for one item;
-- gr_resolve_hold becomes a one-item group, so the resolution rules live in one place.

-- One item of a reservation group: the arguments of gr_create_task (0009), by name.
CREATE TYPE gr_reserve_item AS (
  id text, customer text, mode text, key text, max_concurrency integer, idem text, fp text, cost bigint,
  now timestamptz, expires timestamptz, deadline timestamptz, type text, model text, request jsonb,
  reservation_id text, status text, lease_owner text, lease_until timestamptz, face text, callback_url text,
  metadata jsonb, price_version integer, price_percent integer
);

-- outcome: 'created' | 'existing' (the idempotency key belongs to `task`, the row that owns it) | 'GR402' | 'GR429'.
-- `task` is the task row as jsonb (created or existing), NULL when refused. A twin in another transaction that
-- inserts the same idempotency key while the group runs raises GR409: the caller runs the items alone.
CREATE FUNCTION gr_reserve_group(p_items jsonb)
RETURNS TABLE (item integer, outcome text, task jsonb) LANGUAGE plpgsql AS $$
DECLARE
  v_items gr_reserve_item[];
  v_accepted gr_reserve_item[] := '{}';
  v_outcome text[];
  v_owner text[];            -- the task id that owns an item's idempotency key ('existing' items)
  v_keys jsonb := '{}';      -- api key id → inflight
  v_avail jsonb := '{}';     -- customer|mode → balance − reserved
  v_seen jsonb := '{}';      -- customer|idem → task jsonb (committed) or the task id created earlier in the group
  v_rows jsonb := '{}';      -- task id → created row
  v_inserted integer;
  r gr_reserve_item;
  rk record;
  rw record;
  rt record;
  v_slot integer;
  v_free bigint;
  v_wallet_key text;
  v_idem_key text;
BEGIN
  SELECT array_agg(x ORDER BY e.n) INTO v_items
    FROM jsonb_array_elements(p_items) WITH ORDINALITY e(value, n),
         LATERAL jsonb_populate_record(NULL::gr_reserve_item, e.value) x;
  IF v_items IS NULL THEN RETURN; END IF;
  v_outcome := array_fill(NULL::text, ARRAY[cardinality(v_items)]);
  v_owner := v_outcome;

  FOR rk IN SELECT a.id, a.inflight FROM api_keys a WHERE a.id IN (SELECT i.key FROM unnest(v_items) i) ORDER BY a.id FOR UPDATE LOOP
    v_keys := v_keys || jsonb_build_object(rk.id, rk.inflight);
  END LOOP;
  FOR rw IN SELECT x.customer_id, x.mode, x.balance - x.reserved AS free FROM wallets x
            WHERE (x.customer_id, x.mode) IN (SELECT i.customer, i.mode FROM unnest(v_items) i) ORDER BY x.id FOR UPDATE LOOP
    v_avail := v_avail || jsonb_build_object(rw.customer_id || '|' || rw.mode, rw.free);
  END LOOP;
  FOR rt IN SELECT x.customer_id, x.idempotency_key, to_jsonb(x) AS row FROM tasks x
            WHERE (x.customer_id, x.idempotency_key) IN (SELECT i.customer, i.idem FROM unnest(v_items) i WHERE i.idem IS NOT NULL) LOOP
    v_seen := v_seen || jsonb_build_object(rt.customer_id || '|' || rt.idempotency_key, rt.row);
  END LOOP;

  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    IF r.cost IS NULL OR r.cost < 0 THEN
      RAISE EXCEPTION 'hold must not be negative' USING ERRCODE = '22023';
    END IF;
    -- I5: a key already used (committed, or earlier in this group) answers with the row that owns it.
    IF r.idem IS NOT NULL THEN
      v_idem_key := r.customer || '|' || r.idem;
      IF v_seen ? v_idem_key THEN
        v_outcome[n] := 'existing';
        v_owner[n] := CASE WHEN jsonb_typeof(v_seen -> v_idem_key) = 'string' THEN v_seen ->> v_idem_key END;
        CONTINUE;
      END IF;
    END IF;
    v_slot := (v_keys ->> r.key)::integer;
    IF v_slot IS NULL OR (r.max_concurrency IS NOT NULL AND v_slot >= r.max_concurrency) THEN
      v_outcome[n] := 'GR429'; CONTINUE;
    END IF;
    v_wallet_key := r.customer || '|' || r.mode;
    v_free := (v_avail ->> v_wallet_key)::bigint;
    IF v_free IS NULL OR v_free < r.cost THEN
      v_outcome[n] := 'GR402'; CONTINUE;
    END IF;
    v_keys := jsonb_set(v_keys, ARRAY[r.key], to_jsonb(v_slot + 1));
    v_avail := jsonb_set(v_avail, ARRAY[v_wallet_key], to_jsonb(v_free - r.cost));
    IF r.idem IS NOT NULL THEN v_seen := v_seen || jsonb_build_object(v_idem_key, r.id); END IF;
    v_accepted := v_accepted || r;
    v_outcome[n] := 'created';
  END LOOP;

  IF cardinality(v_accepted) > 0 THEN
    WITH inserted AS (
      INSERT INTO tasks (id, customer_id, mode, api_key_id, type, model, status, idempotency_key, fingerprint, face,
                         request, callback_url, metadata, hold_amount, lease_owner, lease_until, attempts,
                         next_action_at, created_at, updated_at, price_version, price_percent)
      SELECT a.id, a.customer, a.mode, a.key, a.type, a.model, COALESCE(a.status, 'queued'), a.idem, a.fp,
             COALESCE(a.face, 'native'), COALESCE(a.request, '{}'::jsonb), a.callback_url, a.metadata, a.cost,
             a.lease_owner, a.lease_until, CASE WHEN a.lease_owner IS NULL THEN 0 ELSE 1 END,
             CASE WHEN COALESCE(a.status, 'queued') = 'queued' THEN a.now ELSE a.lease_until END, a.now, a.now,
             a.price_version, a.price_percent
        FROM unnest(v_accepted) a
      ON CONFLICT (customer_id, idempotency_key) DO NOTHING    -- waits for a twin in another transaction
      RETURNING *
    )
    SELECT COALESCE(jsonb_object_agg(i.id, to_jsonb(i)), '{}'), count(*) INTO v_rows, v_inserted FROM inserted i;
    IF v_inserted <> cardinality(v_accepted) THEN
      RAISE EXCEPTION 'an idempotency key of this group was taken by a concurrent request' USING ERRCODE = 'GR409';
    END IF;

    INSERT INTO reservations (id, task_id, wallet_id, api_key_id, amount, status, expires_at, hard_deadline, created_at)
    SELECT a.reservation_id, a.id, w.id, a.key, a.cost, 'held', a.expires, a.deadline, a.now
      FROM unnest(v_accepted) a JOIN wallets w ON w.customer_id = a.customer AND w.mode = a.mode;
    UPDATE api_keys k SET inflight = k.inflight + d.taken
      FROM (SELECT a.key, count(*) AS taken FROM unnest(v_accepted) a GROUP BY a.key) d
     WHERE k.id = d.key;
    UPDATE wallets w SET reserved = w.reserved + d.total, updated_at = d.at
      FROM (SELECT a.customer, a.mode, sum(a.cost) AS total, max(a.now) AS at FROM unnest(v_accepted) a GROUP BY a.customer, a.mode) d
     WHERE w.customer_id = d.customer AND w.mode = d.mode;
  END IF;

  FOR n IN 1 .. cardinality(v_items) LOOP
    item := n;
    outcome := v_outcome[n];
    task := CASE
      WHEN v_outcome[n] = 'created' THEN v_rows -> (v_items[n]).id
      WHEN v_outcome[n] = 'existing' AND v_owner[n] IS NOT NULL THEN v_rows -> v_owner[n]
      WHEN v_outcome[n] = 'existing' THEN v_seen -> ((v_items[n]).customer || '|' || (v_items[n]).idem)
    END;
    RETURN NEXT;
  END LOOP;
END $$;

-- One item of a resolution group: the arguments of gr_resolve_hold (0010), plus the route that served a text
-- request (recorded on the task in the same transaction, as TaskService.recordTextRoute does alone).
CREATE TYPE gr_resolve_item AS (
  task text, outcome text, final_status text, actual bigint, error_code text, now timestamptz,
  only_if_status text, result jsonb, cost bigint,
  route_provider text, route_channel text, route_credential text, route_tried text[]
);

-- Settle or release holds exactly once (M3–M5, T8), each item as gr_resolve_hold (0010) did alone: the guarded
-- UPDATE of its reservation decides the outcome; the keys' slots and the wallets' balances are given back once per
-- group with the sums.
CREATE FUNCTION gr_resolve_group(p_items jsonb)
RETURNS TABLE (item integer, outcome text, charged bigint, overage bigint) LANGUAGE plpgsql AS $$
DECLARE
  v_items gr_resolve_item[];
  v_done jsonb := '[]';      -- [{key, wallet, settled, amount, at}] of the holds resolved by this group
  r gr_resolve_item;
  v_task tasks%ROWTYPE;
  v_hold reservations%ROWTYPE;
  v_settled bigint;
BEGIN
  SELECT array_agg(x ORDER BY e.n) INTO v_items
    FROM jsonb_array_elements(p_items) WITH ORDINALITY e(value, n),
         LATERAL jsonb_populate_record(NULL::gr_resolve_item, e.value) x;
  IF v_items IS NULL THEN RETURN; END IF;
  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    IF NOT ((r.outcome = 'settled' AND r.final_status = 'succeeded')
         OR (r.outcome = 'released' AND r.final_status IN ('failed', 'cancelled', 'expired'))) THEN
      RAISE EXCEPTION 'invalid resolution % → %', r.outcome, r.final_status USING ERRCODE = '22023';
    END IF;
  END LOOP;

  -- D6: tasks, then their held reservations, then the keys and wallets those hold, each in id order (one item takes
  -- them in that order below).
  IF cardinality(v_items) > 1 THEN
  PERFORM 1 FROM tasks t WHERE t.id IN (SELECT i.task FROM unnest(v_items) i) ORDER BY t.id FOR UPDATE;
  PERFORM 1 FROM reservations h WHERE h.task_id IN (SELECT i.task FROM unnest(v_items) i) AND h.status = 'held'
   ORDER BY h.id FOR UPDATE;
  PERFORM 1 FROM api_keys k
   WHERE k.id IN (SELECT h.api_key_id FROM reservations h WHERE h.task_id IN (SELECT i.task FROM unnest(v_items) i) AND h.status = 'held')
   ORDER BY k.id FOR UPDATE;
  PERFORM 1 FROM wallets w
   WHERE w.id IN (SELECT h.wallet_id FROM reservations h WHERE h.task_id IN (SELECT i.task FROM unnest(v_items) i) AND h.status = 'held')
   ORDER BY w.id FOR UPDATE;
  END IF;

  FOR n IN 1 .. cardinality(v_items) LOOP
    r := v_items[n];
    item := n; charged := 0; overage := 0;
    SELECT * INTO v_task FROM tasks t WHERE t.id = r.task FOR UPDATE;
    IF NOT FOUND THEN
      outcome := 'not_found'; RETURN NEXT; CONTINUE;
    END IF;
    IF r.only_if_status IS NOT NULL AND v_task.status <> r.only_if_status THEN
      outcome := 'skipped'; RETURN NEXT; CONTINUE;
    END IF;
    IF r.route_provider IS NOT NULL AND v_task.status = 'dispatching' AND v_task.type IN ('chat', 'embedding') THEN
      v_task.provider := r.route_provider;
      v_task.channel_id := r.route_channel;
      v_task.credential_id := r.route_credential;
      v_task.tried_channels := COALESCE(r.route_tried, '{}');
    END IF;

    UPDATE reservations h
       SET status = r.outcome,
           settled_amount = CASE WHEN r.outcome = 'settled' THEN LEAST(GREATEST(r.actual, 0), h.amount) END,
           resolved_at = r.now
     WHERE h.task_id = r.task AND h.status = 'held'
    RETURNING * INTO v_hold;
    IF NOT FOUND THEN
      outcome := 'already_resolved'; RETURN NEXT; CONTINUE;
    END IF;
    v_settled := COALESCE(v_hold.settled_amount, 0);
    v_done := v_done || jsonb_build_object('id', v_hold.id, 'key', v_hold.api_key_id, 'wallet', v_hold.wallet_id,
                                           'settled', v_settled, 'amount', v_hold.amount, 'at', r.now);

    UPDATE tasks
       SET status = r.final_status,
           provider = v_task.provider, channel_id = v_task.channel_id, credential_id = v_task.credential_id,
           tried_channels = v_task.tried_channels,
           charged = v_settled,
           cost_credits = CASE WHEN r.outcome = 'released' THEN 0 WHEN r.cost IS NOT NULL THEN LEAST(GREATEST(r.cost, 0), 9007199254740991) END,
           error_code = CASE WHEN r.outcome = 'released' THEN r.error_code END,
           result = CASE WHEN r.outcome = 'settled' THEN r.result END,
           progress = CASE WHEN r.outcome = 'settled' THEN 100 ELSE progress END,
           lease_owner = NULL, lease_until = NULL, next_action_at = NULL,
           completed_at = r.now, updated_at = r.now
     WHERE id = r.task;

    -- H7: the webhook outbox rows are written with the terminal transition. Bodies are rendered from the (now
    -- immutable) task on the first attempt and stored, so every attempt sends the same bytes.
    IF v_task.callback_url IS NOT NULL THEN
      INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status,
                                      next_attempt_at, created_at)
      VALUES ('whd_' || r.task, v_task.customer_id, v_task.mode, r.task, NULL, v_task.callback_url,
              'task.' || r.final_status, 'pending', r.now, r.now)
      ON CONFLICT (id) DO NOTHING;
    END IF;
    INSERT INTO webhook_deliveries (id, customer_id, mode, task_id, endpoint_id, url, event_type, status,
                                    next_attempt_at, created_at)
    SELECT 'whd_' || r.task || '_' || e.id, e.customer_id, e.mode, r.task, e.id, e.url, 'task.' || r.final_status,
           'pending', r.now, r.now
      FROM webhook_endpoints e
     WHERE e.customer_id = v_task.customer_id AND e.mode = v_task.mode AND e.status = 'enabled'
       AND (cardinality(e.events) = 0 OR ('task.' || r.final_status) = ANY (e.events))
    ON CONFLICT (id) DO NOTHING;

    outcome := r.outcome;
    charged := v_settled;
    overage := GREATEST(COALESCE(r.actual, 0) - v_hold.amount, 0);
    RETURN NEXT;
  END LOOP;

  IF jsonb_array_length(v_done) > 0 THEN
    UPDATE api_keys k SET inflight = k.inflight - d.freed
      FROM (SELECT x ->> 'key' AS key, count(*) AS freed FROM jsonb_array_elements(v_done) x GROUP BY 1) d
     WHERE k.id = d.key;
    UPDATE wallets w
       SET balance = w.balance - d.settled, reserved = w.reserved - d.amount, updated_at = d.at
      FROM (SELECT x ->> 'wallet' AS wallet, sum((x ->> 'settled')::bigint) AS settled, sum((x ->> 'amount')::bigint) AS amount,
                   max((x ->> 'at')::timestamptz) AS at
              FROM jsonb_array_elements(v_done) x GROUP BY 1) d
     WHERE w.id = d.wallet;
    -- The charges last: their foreign key share-locks the wallet, which must come after this group's own lock on it
    -- (a share lock taken earlier would deadlock with a reservation group that locked the key and waits for it).
    INSERT INTO ledger_entries (wallet_id, kind, amount, ref_type, ref_id, created_at)
    SELECT x ->> 'wallet', 'charge', -((x ->> 'settled')::bigint), 'reservation', x ->> 'id', (x ->> 'at')::timestamptz
      FROM jsonb_array_elements(v_done) WITH ORDINALITY AS e(x, n)
     WHERE (x ->> 'settled')::bigint > 0
     ORDER BY e.n;
  END IF;
END $$;

-- gr_resolve_hold keeps its signature and errors, as a one-item group, so the resolution rules live in one place.
DROP FUNCTION gr_resolve_hold(text, text, text, bigint, text, timestamptz, text, jsonb, bigint);
CREATE FUNCTION gr_resolve_hold(
  p_task text, p_outcome text, p_final_status text, p_actual bigint, p_error_code text, p_now timestamptz,
  p_only_if_status text DEFAULT NULL, p_result jsonb DEFAULT NULL, p_cost bigint DEFAULT NULL
) RETURNS TABLE (outcome text, charged bigint, overage bigint) LANGUAGE sql AS $$
  SELECT g.outcome, g.charged, g.overage
    FROM gr_resolve_group(jsonb_build_array(jsonb_build_object(
      'task', p_task, 'outcome', p_outcome, 'final_status', p_final_status, 'actual', p_actual, 'error_code', p_error_code,
      'now', p_now, 'only_if_status', p_only_if_status, 'result', p_result, 'cost', p_cost))) g
$$;

